// A restricted unpickler: the opcodes of pickle protocols 2 to 5 that plain data needs (None,
// bools, ints, floats, strings, bytes, tuples, lists, dicts), the memo, and three hooks where a
// subclass decides what a GLOBAL, a persistent id and a REDUCE mean (engine/pth.h allows a state
// dict's few torch globals and refuses every other by name). Nothing is ever executed or
// imported: an opcode outside the list (NEWOBJ, INST, OBJ, EXT*, ...) is refused.
// Values live in an arena owned by the unpickler, so a pickle that puts a list inside itself
// makes no reference cycle and a deeply nested one no recursive destruction.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ptl {

struct PyValue {
  // Storage and Tensor are made by the hooks (engine/pth.cpp), never by an opcode.
  enum class Kind : uint8_t {
    None,
    Bool,
    Int,
    BigInt,
    Float,
    String,
    Bytes,
    Tuple,
    List,
    Dict,
    Global,
    Storage,
    Tensor
  };
  Kind kind = Kind::None;
  int64_t i = 0;  // Bool, Int; Storage: the hook's index
  double f = 0;   // Float
  std::string s;  // String, Bytes; BigInt: its little-endian two's complement; Global: module.name
  std::vector<PyValue*> items;                         // Tuple, List; Tensor: the hook's parts
  std::vector<std::pair<PyValue*, PyValue*>> entries;  // Dict, in insertion order
};

class Unpickler {
 public:
  // `what` names the pickle in errors ("x.pth: data.pkl").
  Unpickler(std::string_view bytes, std::string what);
  virtual ~Unpickler() = default;
  // Runs the pickle that starts at `pos` up to its STOP and moves `pos` past it. The value
  // lives as long as the unpickler.
  PyValue* load(size_t& pos);
  PyValue* make(PyValue::Kind kind);
  const std::string& what() const { return what_; }

 protected:
  virtual PyValue* global(const std::string& module, const std::string& name) = 0;
  virtual PyValue* persistent_load(PyValue* pid) = 0;
  virtual PyValue* reduce(PyValue* callable, PyValue* args) = 0;

 private:
  std::string_view bytes_;
  std::string what_;
  std::vector<std::unique_ptr<PyValue>> arena_;
};

// "a tuple", "an int", ...: for errors about a value of the wrong kind.
std::string kind_name(PyValue::Kind kind);

}  // namespace ptl
