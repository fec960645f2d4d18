#include "engine/pickle.h"

#include <cstdio>
#include <cstring>
#include <unordered_map>

#include "base/error.h"

namespace ptl {

std::string kind_name(PyValue::Kind kind) {
  static const char* const names[] = {"None",    "a bool",    "an int",  "an int", "a float",
                                      "a str",   "bytes",     "a tuple", "a list", "a dict",
                                      "a class", "a storage", "a tensor"};
  return names[static_cast<int>(kind)];
}

Unpickler::Unpickler(std::string_view bytes, std::string what)
    : bytes_(bytes), what_(std::move(what)) {}

PyValue* Unpickler::make(PyValue::Kind kind) {
  arena_.push_back(std::make_unique<PyValue>());
  arena_.back()->kind = kind;
  return arena_.back().get();
}

PyValue* Unpickler::load(size_t& pos) {
  using K = PyValue::Kind;
  std::vector<PyValue*> stack;
  std::vector<size_t> marks;
  std::unordered_map<uint64_t, PyValue*> memo;
  size_t op_at = pos;
  auto bad = [&](const std::string& why) {
    fail(str(what_, ": ", why, " (pickle byte ", op_at, "): corrupt or not a PyTorch file"));
  };
  auto take = [&](size_t n) {
    if (n > bytes_.size() - pos) bad("the pickle ends early");
    const std::string_view b = bytes_.substr(pos, n);
    pos += n;
    return b;
  };
  auto uint = [&](int n) {  // little-endian unsigned
    const std::string_view b = take(static_cast<size_t>(n));
    uint64_t v = 0;
    for (int k = n - 1; k >= 0; --k) v = (v << 8) | static_cast<unsigned char>(b[k]);
    return v;
  };
  auto push = [&](PyValue* v) { stack.push_back(v); };
  auto pop = [&]() {
    if (stack.empty() || (!marks.empty() && stack.size() == marks.back())) bad("stack underflow");
    PyValue* v = stack.back();
    stack.pop_back();
    return v;
  };
  auto top = [&]() {
    if (stack.empty() || (!marks.empty() && stack.size() == marks.back())) bad("stack underflow");
    return stack.back();
  };
  // The values after the last MARK, removed from the stack with the mark.
  auto pop_mark = [&]() {
    if (marks.empty()) bad("no MARK");
    std::vector<PyValue*> items(stack.begin() + static_cast<std::ptrdiff_t>(marks.back()),
                                stack.end());
    stack.resize(marks.back());
    marks.pop_back();
    return items;
  };
  auto value = [&](K kind) {
    PyValue* v = make(kind);
    push(v);
    return v;
  };
  auto string = [&](K kind, size_t n) { value(kind)->s = std::string(take(n)); };
  auto integer = [&](int64_t i) { value(K::Int)->i = i; };
  auto tuple = [&](std::vector<PyValue*> items) { value(K::Tuple)->items = std::move(items); };
  auto set_items = [&](PyValue* dict, const std::vector<PyValue*>& kv) {
    if (dict->kind != K::Dict) bad("SETITEM on " + kind_name(dict->kind));
    if (kv.size() % 2) bad("SETITEMS with an odd number of values");
    for (size_t k = 0; k < kv.size(); k += 2) dict->entries.emplace_back(kv[k], kv[k + 1]);
  };
  auto append = [&](PyValue* list, const std::vector<PyValue*>& items) {
    if (list->kind != K::List) bad("APPEND to " + kind_name(list->kind));
    list->items.insert(list->items.end(), items.begin(), items.end());
  };
  auto long_int = [&](size_t n) {  // LONG1/LONG4: little-endian two's complement
    const std::string_view b = take(n);
    if (n > 8) {
      value(K::BigInt)->s = std::string(b);
      return;
    }
    uint64_t v = 0;
    for (size_t k = n; k-- > 0;) v = (v << 8) | static_cast<unsigned char>(b[k]);
    if (n > 0 && n < 8 && (static_cast<unsigned char>(b[n - 1]) & 0x80)) v |= ~0ull << (8 * n);
    integer(static_cast<int64_t>(v));
  };
  auto line = [&]() {  // GLOBAL's text arguments end with '\n'
    const size_t end = bytes_.find('\n', pos);
    if (end == std::string_view::npos) bad("GLOBAL without its newline");
    const size_t n = end - pos;
    return std::string(take(n + 1).substr(0, n));
  };

  for (;;) {
    op_at = pos;
    const unsigned char op = static_cast<unsigned char>(take(1)[0]);
    switch (op) {
      case 0x80:  // PROTO
        if (uint(1) > 5) bad("pickle protocol above 5");
        break;
      case 0x95:  // FRAME: a length hint only
        uint(8);
        break;
      case '.': {  // STOP
        PyValue* v = pop();
        if (!stack.empty() || !marks.empty()) bad("values left on the stack at STOP");
        return v;
      }
      case '(':
        marks.push_back(stack.size());
        break;
      case '0':  // POP
        pop();
        break;
      case '1':  // POP_MARK
        pop_mark();
        break;
      case '2':  // DUP
        push(top());
        break;
      case 'N':
        value(K::None);
        break;
      case 0x88:
      case 0x89:
        value(K::Bool)->i = op == 0x88;
        break;
      case 'K':
        integer(static_cast<int64_t>(uint(1)));
        break;
      case 'M':
        integer(static_cast<int64_t>(uint(2)));
        break;
      case 'J':
        integer(static_cast<int32_t>(static_cast<uint32_t>(uint(4))));
        break;
      case 0x8a:
        long_int(static_cast<size_t>(uint(1)));
        break;
      case 0x8b: {
        const uint64_t n = uint(4);
        if (n > 0x7FFFFFFF) bad("LONG4 with a negative length");
        long_int(static_cast<size_t>(n));
        break;
      }
      case 'G': {  // BINFLOAT: big-endian IEEE double
        const std::string_view b = take(8);
        uint64_t u = 0;
        for (int k = 0; k < 8; ++k) u = (u << 8) | static_cast<unsigned char>(b[k]);
        std::memcpy(&value(K::Float)->f, &u, 8);
        break;
      }
      case 'X':  // BINUNICODE, BINSTRING (a Python 2 str) and the other string lengths
      case 'T':
        string(K::String, static_cast<size_t>(uint(4)));
        break;
      case 0x8c:
      case 'U':
        string(K::String, static_cast<size_t>(uint(1)));
        break;
      case 0x8d:
        string(K::String, static_cast<size_t>(uint(8)));
        break;
      case 'B':
        string(K::Bytes, static_cast<size_t>(uint(4)));
        break;
      case 'C':
        string(K::Bytes, static_cast<size_t>(uint(1)));
        break;
      case 0x8e:
        string(K::Bytes, static_cast<size_t>(uint(8)));
        break;
      case ')':
        tuple({});
        break;
      case 't':
        tuple(pop_mark());
        break;
      case 0x85:
      case 0x86:
      case 0x87: {
        std::vector<PyValue*> items(op - 0x84);
        for (size_t k = items.size(); k-- > 0;) items[k] = pop();
        tuple(std::move(items));
        break;
      }
      case ']':
        value(K::List);
        break;
      case 'l':
        value(K::List)->items = pop_mark();
        break;
      case '}':
        value(K::Dict);
        break;
      case 'd': {
        const std::vector<PyValue*> kv = pop_mark();
        set_items(value(K::Dict), kv);
        break;
      }
      case 'a': {
        PyValue* v = pop();
        append(top(), {v});
        break;
      }
      case 'e': {
        const std::vector<PyValue*> items = pop_mark();
        append(top(), items);
        break;
      }
      case 's': {
        PyValue* v = pop();
        PyValue* k = pop();
        set_items(top(), {k, v});
        break;
      }
      case 'u': {
        const std::vector<PyValue*> kv = pop_mark();
        set_items(top(), kv);
        break;
      }
      case 'q':
        memo[uint(1)] = top();
        break;
      case 'r':
        memo[uint(4)] = top();
        break;
      case 0x94: {  // MEMOIZE: the next free index
        const uint64_t n = memo.size();
        memo[n] = top();
        break;
      }
      case 'h':
      case 'j': {
        auto it = memo.find(uint(op == 'h' ? 1 : 4));
        if (it == memo.end()) bad("BINGET of a value never memoized");
        push(it->second);
        break;
      }
      case 'c': {  // GLOBAL "module\nname\n"
        const std::string module = line();
        push(global(module, line()));
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        PyValue* name = pop();
        PyValue* module = pop();
        if (module->kind != K::String || name->kind != K::String)
          bad("STACK_GLOBAL of non-strings");
        push(global(module->s, name->s));
        break;
      }
      case 'Q':
        push(persistent_load(pop()));
        break;
      case 'R': {
        PyValue* args = pop();
        PyValue* callable = pop();
        if (callable->kind != K::Global || args->kind != K::Tuple)
          bad("REDUCE of " + kind_name(callable->kind) + " with " + kind_name(args->kind));
        push(reduce(callable, args));
        break;
      }
      case 'b':  // BUILD: only a dict's attributes (a state dict's `_metadata`), dropped
        pop();
        if (top()->kind != K::Dict) bad("BUILD on " + kind_name(top()->kind));
        break;
      default: {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", op);
        fail(str(what_, ": refuses pickle opcode ", hex, " at byte ", op_at,
                 ": it builds or calls objects, and ptl reads only plain data and tensors"));
      }
    }
  }
}

}  // namespace ptl
