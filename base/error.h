// Errors: every check at an op boundary throws ptl::Error with a message that names the op
// and the shapes involved. The CLI catches it and prints one line.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace ptl {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& msg) : std::runtime_error(msg) {}
};

namespace detail {
inline void append(std::ostringstream&) {}
template <class T, class... R>
void append(std::ostringstream& os, const T& v, const R&... rest) {
  os << v;
  append(os, rest...);
}
}  // namespace detail

// str("conv2d: input has ", c, " channels") builds a message from any streamable parts.
template <class... A>
std::string str(const A&... parts) {
  std::ostringstream os;
  detail::append(os, parts...);
  return os.str();
}

[[noreturn]] inline void fail(const std::string& msg) {
  throw Error(msg);
}

// Errors keep to a few lines and cut long lists to their first entries; `ptl --verbose` (this
// switch) makes them list everything.
inline bool& verbose_errors() {
  static bool on = false;
  return on;
}

}  // namespace ptl

// PTL_CHECK(cond, parts...): throws ptl::Error(str(parts...)) when cond is false.
#define PTL_CHECK(cond, ...)                           \
  do {                                                 \
    if (!(cond)) ::ptl::fail(::ptl::str(__VA_ARGS__)); \
  } while (0)
