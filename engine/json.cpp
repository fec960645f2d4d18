#include "engine/json.h"

#include <cstdio>

#include <cstdlib>

#include "base/error.h"

namespace ptl {

const Json* Json::find(const std::string& key) const {
  for (const auto& kv : object)
    if (kv.first == key) return &kv.second;
  return nullptr;
}

namespace {
class Parser {
 public:
  Parser(const std::string& t, const std::string& what) : t_(t), what_(what) {}

  Json document() {
    Json v = value(0);
    skip_ws();
    if (i_ != t_.size()) error("trailing characters after the JSON value");
    return v;
  }

 private:
  [[noreturn]] void error(const std::string& msg) {
    fail(str(what_, ": invalid JSON at byte ", i_, ": ", msg));
  }
  void skip_ws() {
    while (i_ < t_.size() && (t_[i_] == ' ' || t_[i_] == '\n' || t_[i_] == '\r' || t_[i_] == '\t'))
      ++i_;
  }
  char peek() {
    skip_ws();
    if (i_ >= t_.size()) error("unexpected end");
    return t_[i_];
  }
  void expect(char c) {
    if (peek() != c) error(str("expected '", c, "'"));
    ++i_;
  }
  bool literal(const char* w) {
    size_t n = std::char_traits<char>::length(w);
    if (t_.compare(i_, n, w) != 0) return false;
    i_ += n;
    return true;
  }
  Json value(int depth) {
    if (depth > 64) error("nested too deeply");
    Json v;
    char c = peek();
    if (c == '{') {
      v.kind = Json::Kind::Object;
      ++i_;
      if (peek() == '}') {
        ++i_;
        return v;
      }
      while (true) {
        if (peek() != '"') error("expected a key string");
        std::string k = string_lit();
        expect(':');
        v.object.emplace_back(std::move(k), value(depth + 1));
        if (peek() == ',') {
          ++i_;
          continue;
        }
        expect('}');
        return v;
      }
    }
    if (c == '[') {
      v.kind = Json::Kind::Array;
      ++i_;
      if (peek() == ']') {
        ++i_;
        return v;
      }
      while (true) {
        v.array.push_back(value(depth + 1));
        if (peek() == ',') {
          ++i_;
          continue;
        }
        expect(']');
        return v;
      }
    }
    if (c == '"') {
      v.kind = Json::Kind::String;
      v.string = string_lit();
      return v;
    }
    if (literal("true")) {
      v.kind = Json::Kind::Bool;
      v.boolean = true;
      return v;
    }
    if (literal("false")) {
      v.kind = Json::Kind::Bool;
      return v;
    }
    if (literal("null")) return v;
    const char* start = t_.c_str() + i_;
    char* end = nullptr;
    v.number = std::strtod(start, &end);
    if (end == start) error("expected a value");
    v.kind = Json::Kind::Number;
    i_ += static_cast<size_t>(end - start);
    return v;
  }
  std::string string_lit() {
    expect('"');
    std::string s;
    while (true) {
      if (i_ >= t_.size()) error("unterminated string");
      char c = t_[i_++];
      if (c == '"') return s;
      if (c != '\\') {
        s += c;
        continue;
      }
      if (i_ >= t_.size()) error("unterminated escape");
      char e = t_[i_++];
      switch (e) {
        case 'n':
          s += '\n';
          break;
        case 't':
          s += '\t';
          break;
        case 'r':
          s += '\r';
          break;
        case 'b':
          s += '\b';
          break;
        case 'f':
          s += '\f';
          break;
        case 'u': {
          if (i_ + 4 > t_.size()) error("short \\u escape");
          unsigned cp = static_cast<unsigned>(std::strtoul(t_.substr(i_, 4).c_str(), nullptr, 16));
          i_ += 4;
          // UTF-8 encode the BMP code point (surrogate pairs are not needed for our headers).
          if (cp < 0x80)
            s += static_cast<char>(cp);
          else if (cp < 0x800) {
            s += static_cast<char>(0xC0 | (cp >> 6));
            s += static_cast<char>(0x80 | (cp & 0x3F));
          } else {
            s += static_cast<char>(0xE0 | (cp >> 12));
            s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            s += static_cast<char>(0x80 | (cp & 0x3F));
          }
          break;
        }
        default:
          s += e;
      }
    }
  }
  const std::string& t_;
  const std::string& what_;
  size_t i_ = 0;
};
}  // namespace

Json Json::parse(const std::string& text, const std::string& what) {
  return Parser(text, what).document();
}

std::string json_quote(const std::string& s) {
  std::string r = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        r += "\\\"";
        break;
      case '\\':
        r += "\\\\";
        break;
      case '\n':
        r += "\\n";
        break;
      case '\t':
        r += "\\t";
        break;
      case '\r':
        r += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20)
          r += str("\\u00", "0123456789abcdef"[(c >> 4) & 0xF], "0123456789abcdef"[c & 0xF]);
        else
          r += c;
    }
  }
  return r + "\"";
}

std::string exact_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace ptl
