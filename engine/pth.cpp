#include "engine/pth.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>

#include "base/bf16.h"
#include "base/text.h"
#include "engine/pickle.h"
#include "engine/zip_reader.h"

namespace ptl {

namespace {

using K = PyValue::Kind;

// How a storage's elements become a ptl dtype.
enum class Conv : uint8_t { Copy, Half, BFloat16, Int16, Int8, UInt8, Refuse };

struct StorageType {
  const char* name;   // torch.<name>
  const char* dtype;  // as torch prints it
  size_t element;     // bytes per element in the file
  DType to;
  Conv conv;
};

constexpr StorageType kStorageTypes[] = {
    {"FloatStorage", "float32", 4, DType::F32, Conv::Copy},
    {"DoubleStorage", "float64", 8, DType::F64, Conv::Copy},
    {"LongStorage", "int64", 8, DType::I64, Conv::Copy},
    {"IntStorage", "int32", 4, DType::I32, Conv::Copy},
    {"HalfStorage", "float16", 2, DType::F32, Conv::Half},
    {"BFloat16Storage", "bfloat16", 2, DType::F32, Conv::BFloat16},
    {"ShortStorage", "int16", 2, DType::I64, Conv::Int16},
    {"CharStorage", "int8", 1, DType::I64, Conv::Int8},
    {"ByteStorage", "uint8", 1, DType::I64, Conv::UInt8},
    {"BoolStorage", "bool", 1, DType::I64, Conv::UInt8},
    {"ComplexFloatStorage", "complex64", 8, DType::F32, Conv::Refuse},
    {"ComplexDoubleStorage", "complex128", 16, DType::F32, Conv::Refuse},
    {"QInt8Storage", "qint8", 1, DType::F32, Conv::Refuse},
    {"QUInt8Storage", "quint8", 1, DType::F32, Conv::Refuse},
    {"QInt32Storage", "qint32", 4, DType::F32, Conv::Refuse},
    {"QUInt4x2Storage", "quint4x2", 1, DType::F32, Conv::Refuse},
    {"QUInt2x4Storage", "quint2x4", 1, DType::F32, Conv::Refuse},
};

const StorageType* storage_type(const std::string& torch_name) {
  for (const StorageType& t : kStorageTypes)
    if (torch_name == std::string("torch.") + t.name) return &t;
  return nullptr;
}

// IEEE half -> float32, exactly (every half is a float32).
float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1Fu, man = h & 0x3FFu;
  if (exp == 0x1F) return float_from_bits(sign | 0x7F800000u | (man << 13));  // inf, NaN
  if (exp == 0) {  // zero or subnormal: man * 2^-24
    const float f = std::ldexp(static_cast<float>(man), -24);
    return sign ? -f : f;
  }
  return float_from_bits(sign | ((exp + 112) << 23) | (man << 13));
}

// One element of `src` (the file's type) into `dst` (the ptl dtype).
void convert(Conv conv, const unsigned char* src, size_t element, void* dst) {
  auto u16 = [&] { return static_cast<uint16_t>(src[0] | (src[1] << 8)); };
  switch (conv) {
    case Conv::Copy:
      std::memcpy(dst, src, element);
      break;
    case Conv::Half:
      *static_cast<float*>(dst) = half_to_float(u16());
      break;
    case Conv::BFloat16:
      *static_cast<float*>(dst) = to_float(bf16{u16()});
      break;
    case Conv::Int16:
      *static_cast<int64_t*>(dst) = static_cast<int16_t>(u16());
      break;
    case Conv::Int8:
      *static_cast<int64_t*>(dst) = static_cast<int8_t>(src[0]);
      break;
    case Conv::UInt8:
      *static_cast<int64_t*>(dst) = src[0];
      break;
    case Conv::Refuse:
      break;
  }
}

struct Storage {
  const StorageType* type;
  std::string key;
  uint64_t numel;         // elements
  std::string_view data;  // numel * element bytes, once found
  bool found = false;
};

// The restricted unpickler of torch.save: the allow-list, storages by key, tensors as
// (storage, offset, size, stride) to be built once the storages' bytes are known.
class TorchUnpickler : public Unpickler {
 public:
  TorchUnpickler(std::string_view bytes, const std::string& file, const std::string& what)
      : Unpickler(bytes, what), file_(file) {}
  std::vector<Storage> storages;
  std::map<std::string, size_t> index;  // storage key -> position in `storages`

 protected:
  PyValue* global(const std::string& module, const std::string& name) override {
    const std::string full = module + "." + name;
    const bool allowed =
        full == "collections.OrderedDict" || full == "torch._utils._rebuild_tensor_v2" ||
        full == "torch._utils._rebuild_parameter" ||
        full == "torch._utils._rebuild_parameter_with_state" || storage_type(full) != nullptr;
    PTL_CHECK(allowed, file_, ": refuses to unpickle `", full,
              "`: a .pth must hold a state dict (tensors only); save model.state_dict() instead");
    PyValue* v = make(K::Global);
    v->s = full;
    return v;
  }

  // ('storage', torch.<X>Storage, key, location, numel[, view_metadata])
  PyValue* persistent_load(PyValue* pid) override {
    const auto& it = pid->items;
    PTL_CHECK(pid->kind == K::Tuple && (it.size() == 5 || it.size() == 6) &&
                  it[0]->kind == K::String && it[0]->s == "storage" && it[1]->kind == K::Global &&
                  storage_type(it[1]->s) && it[2]->kind == K::String && it[4]->kind == K::Int &&
                  it[4]->i >= 0,
              what(), ": a persistent id that is not a storage: corrupt or not a PyTorch file");
    PTL_CHECK(it.size() == 5 || it[5]->kind == K::None, what(),
              ": a storage view (torch before 1.0); load and save it again with a newer torch");
    const StorageType* type = storage_type(it[1]->s);
    const auto [at, added] = index.emplace(it[2]->s, storages.size());
    if (added) storages.push_back({type, it[2]->s, static_cast<uint64_t>(it[4]->i), {}});
    const size_t k = at->second;
    PTL_CHECK(storages[k].type == type && storages[k].numel == uint64_t(it[4]->i), what(),
              ": storage '", it[2]->s, "' appears with two types or sizes: corrupt file");
    PyValue* v = make(K::Storage);
    v->i = static_cast<int64_t>(k);
    return v;
  }

  PyValue* reduce(PyValue* callable, PyValue* args) override {
    const std::string& f = callable->s;
    const auto& a = args->items;
    if (f == "collections.OrderedDict") {
      PTL_CHECK(a.empty(), what(), ": OrderedDict built from arguments: corrupt file");
      return make(K::Dict);
    }
    if (f == "torch._utils._rebuild_tensor_v2") {
      // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
      PTL_CHECK((a.size() == 6 || a.size() == 7) && a[0]->kind == K::Storage &&
                    a[1]->kind == K::Int && a[2]->kind == K::Tuple && a[3]->kind == K::Tuple,
                what(), ": _rebuild_tensor_v2 with unexpected arguments: corrupt file");
      PyValue* t = make(K::Tensor);
      t->items = {a[0], a[1], a[2], a[3]};
      return t;
    }
    if (f == "torch._utils._rebuild_parameter" ||
        f == "torch._utils._rebuild_parameter_with_state") {
      PTL_CHECK(a.size() >= 3 && a[0]->kind == K::Tensor, what(),
                ": _rebuild_parameter without a tensor: corrupt file");
      return a[0];
    }
    fail(str(what(), ": refuses to call `", f, "`: corrupt or not a state dict"));
  }

 private:
  std::string file_;
};

std::string key_list(const std::vector<std::string>& keys) {
  std::string s;
  for (size_t k = 0; k < keys.size() && k < 8; ++k) s += (k ? ", " : "") + ("'" + keys[k] + "'");
  if (keys.size() > 8) s += str(" and ", keys.size() - 8, " more");
  return s;
}

bool is_tensor_dict(const PyValue* v) {
  if (v->kind != K::Dict) return false;
  bool tensor = false;
  for (const auto& [k, x] : v->entries) {
    if (k->kind != K::String) return false;
    tensor |= x->kind == K::Tensor;
  }
  return tensor;
}

std::vector<std::string> string_keys(const PyValue* dict) {
  std::vector<std::string> keys;
  for (const auto& [k, x] : dict->entries)
    keys.push_back(k->kind == K::String ? k->s : "<" + kind_name(k->kind) + ">");
  return keys;
}

// The state dict in `top`: itself, or the one dict of tensors among its values.
const PyValue* pick_state_dict(const PyValue* top, const std::string& file,
                               std::vector<std::string>& notes) {
  if (is_tensor_dict(top)) return top;
  PTL_CHECK(top->kind == K::Dict, file, ": holds ", kind_name(top->kind),
            ", not a state dict; save model.state_dict() instead");
  std::vector<std::string> found, others;
  const PyValue* pick = nullptr;
  for (const auto& [k, x] : top->entries) {
    const std::string name = k->kind == K::String ? k->s : "<" + kind_name(k->kind) + ">";
    if (is_tensor_dict(x)) {
      found.push_back(name);
      pick = x;
    } else {
      others.push_back(name);
    }
  }
  PTL_CHECK(!found.empty(), file, ": holds no tensors (its keys: ", key_list(string_keys(top)),
            "); save model.state_dict() instead");
  PTL_CHECK(found.size() == 1, file, ": holds ", found.size(), " dicts of tensors (",
            key_list(found),
            "), so which are the weights is ambiguous; save the one you want on its own: "
            "torch.save(checkpoint[\"",
            found[0], "\"], \"weights.pth\")");
  notes.push_back(str("took the state dict under '", found[0], "'",
                      others.empty() ? "" : " (skipped " + key_list(others) + ")"));
  return pick;
}

// The tensor (storage, offset, size, stride) `t` of storage `s`, copied out in ptl's layout.
Tensor build_tensor(const PyValue* t, const Storage& s, const std::string& name,
                    const std::string& file) {
  auto bad = [&](const std::string& why) {
    fail(str(file, ": tensor '", name, "' ", why, ": corrupt file"));
  };
  PTL_CHECK(s.type->conv != Conv::Refuse, file, ": tensor '", name, "' has dtype ", s.type->dtype,
            ", which ptl does not read; convert it to float32 before saving");
  const PyValue *size = t->items[2], *stride = t->items[3];
  if (size->items.size() != stride->items.size() || size->items.size() > 8)
    bad("has a size and a stride of different lengths or more than 8 dimensions");
  Shape shape;
  std::vector<int64_t> step;
  for (size_t d = 0; d < size->items.size(); ++d) {
    const PyValue *n = size->items[d], *st = stride->items[d];
    if (n->kind != K::Int || st->kind != K::Int || n->i < 0 || st->i < 0)
      bad("has a size or stride that is not a non-negative int");
    shape.push_back(n->i);
    step.push_back(st->i);
  }
  const int64_t offset = t->items[1]->i;
  long double count = 1, last = offset < 0 ? -1 : offset;  // the largest element index read
  for (size_t d = 0; d < shape.size(); ++d) {
    count *= static_cast<long double>(std::max<int64_t>(shape[d], 1));
    if (shape[d] > 0) last += static_cast<long double>(shape[d] - 1) * step[d];
  }
  if (offset < 0 || count >= 0x1p62L) bad(str("of size ", shape_str(shape), " is out of range"));
  const bool empty = std::find(shape.begin(), shape.end(), 0) != shape.end();
  // Checked before allocating: the storage's bytes are in the file, so a tensor that reads
  // within it and holds no more elements (no stride-0 broadcast) costs at most the file's size.
  if (!empty && last >= static_cast<long double>(s.numel))
    bad(str("of size ", shape_str(shape), " reads past its storage of ", s.numel, " elements"));
  PTL_CHECK(empty || count <= s.numel, file, ": tensor '", name, "' of size ", shape_str(shape),
            " repeats the ", s.numel,
            " elements of its storage (a broadcast view, stride 0); "
            "save tensor.clone() instead");
  Tensor out = Tensor::empty(shape, s.type->to);
  const int64_t numel = out.numel();
  if (numel == 0) return out;
  const auto* src = reinterpret_cast<const unsigned char*>(s.data.data());
  const size_t in = s.type->element, outsz = dtype_size(s.type->to);
  auto* dst = static_cast<unsigned char*>(out.raw_data());
  bool contiguous = true;
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1, want = 1; d >= 0; --d) {
    contiguous &= shape[d] == 1 || step[d] == want;
    want *= shape[d];
  }
  if (contiguous && s.type->conv == Conv::Copy) {
    std::memcpy(dst, src + static_cast<size_t>(offset) * in, static_cast<size_t>(numel) * in);
    return out;
  }
  // Row-major walk over the output, the source index moved by the strides (an odometer).
  std::vector<int64_t> idx(shape.size(), 0);
  int64_t at = offset;
  for (int64_t e = 0; e < numel; ++e) {
    convert(s.type->conv, src + static_cast<size_t>(at) * in, in, dst + e * outsz);
    for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
      at += step[d];
      if (++idx[d] < shape[d]) break;
      at -= step[d] * shape[d];
      idx[d] = 0;
    }
  }
  return out;
}

// The tensors of `dict`, their storages' bytes found by `bytes_of` (called once per storage).
template <class BytesOf>
PthFile build_tensors(const PyValue* dict, TorchUnpickler& u, const std::string& file,
                      std::vector<std::string> notes, const BytesOf& bytes_of) {
  PthFile out;
  std::vector<std::string> skipped;
  std::map<std::string, int64_t> converted;  // torch dtype -> tensors
  for (const auto& [k, x] : dict->entries) {
    if (x->kind != K::Tensor) {
      skipped.push_back(k->s);
      continue;
    }
    Storage& s = u.storages[static_cast<size_t>(x->items[0]->i)];
    if (!s.found) {
      s.data = bytes_of(s);
      s.found = true;
    }
    out.tensors[k->s] = build_tensor(x, s, k->s, file);
    if (s.type->conv != Conv::Copy) ++converted[s.type->dtype];
  }
  for (const auto& [dtype, n] : converted)
    notes.push_back(str("converted ", count_of(n, dtype + " tensor"), " to ",
                        std::string(dtype).find("float") != std::string::npos ? "float32" : "int64",
                        " (exactly)"));
  if (!skipped.empty())
    notes.push_back(str("skipped ",
                        count_of(static_cast<int64_t>(skipped.size()), "entry", "entries"),
                        " that are not tensors (", key_list(skipped), ")"));
  out.notes = std::move(notes);
  return out;
}

PthFile parse_zip(std::string_view bytes, const std::string& what) {
  ZipReader zip(bytes, what);
  const ZipEntry* pkl = nullptr;
  for (const ZipEntry& e : zip.entries()) {
    const size_t slash = e.name.find('/');
    if (slash != std::string::npos && e.name.substr(slash) == "/data.pkl") {
      pkl = &e;
      break;
    }
  }
  PTL_CHECK(pkl != nullptr, what,
            ": a zip without <name>/data.pkl, so not a file of torch.save; ptl reads "
            ".safetensors and torch.save files");
  const std::string prefix = pkl->name.substr(0, pkl->name.size() - 8);  // "<name>/"
  std::string pkl_scratch, order_scratch;
  if (const ZipEntry* order = zip.find(prefix + "byteorder"))
    PTL_CHECK(zip.read(*order, order_scratch) == "little", what,
              ": saved on a big-endian machine; load and save it again on a little-endian one");
  TorchUnpickler u(zip.read(*pkl, pkl_scratch), what, what + ": " + pkl->name);
  size_t pos = 0;
  std::vector<std::string> notes;
  const PyValue* dict = pick_state_dict(u.load(pos), what, notes);
  std::vector<std::string> scratch;  // inflated storages (torch stores them uncompressed)
  PthFile out = build_tensors(dict, u, what, notes, [&](const Storage& s) {
    const ZipEntry* e = zip.find(prefix + "data/" + s.key);
    PTL_CHECK(e != nullptr, what, ": storage '", s.key, "' is missing from the archive (", prefix,
              "data/", s.key, "): corrupt file");
    PTL_CHECK(s.numel <= e->size && e->size == s.numel * s.type->element, what, ": storage '",
              s.key, "' holds ", e->size, " bytes, not ", s.numel, " elements of ", s.type->dtype,
              ": corrupt file");
    scratch.emplace_back();
    return zip.read(*e, scratch.back());
  });
  out.format = "PyTorch zip";
  return out;
}

// 0x1950a86a20f9469cfc6c, torch's MAGIC_NUMBER, as pickle's LONG1 stores it.
const char kLegacyMagic[] = "\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19";

PthFile parse_legacy(std::string_view bytes, const std::string& what) {
  TorchUnpickler u(bytes, what, what);
  size_t pos = 0;
  const PyValue* magic = u.load(pos);
  PTL_CHECK(magic->kind == K::BigInt && magic->s == std::string(kLegacyMagic, 10), what,
            ": a pickle without torch's magic number, so not a file of torch.save; ptl reads "
            ".safetensors and torch.save files");
  const PyValue* protocol = u.load(pos);
  PTL_CHECK(protocol->kind == K::Int && protocol->i == 1001, what,
            ": legacy torch.save protocol is not 1001: corrupt or from an unknown torch");
  const PyValue* sys = u.load(pos);
  PTL_CHECK(sys->kind == K::Dict, what, ": corrupt legacy header");
  for (const auto& [k, v] : sys->entries)
    PTL_CHECK(!(k->kind == K::String && k->s == "little_endian" && v->kind == K::Bool && !v->i),
              what,
              ": saved on a big-endian machine; load and save it again on a little-endian one");
  std::vector<std::string> notes;
  const PyValue* dict = pick_state_dict(u.load(pos), what, notes);
  const PyValue* keys = u.load(pos);
  PTL_CHECK(keys->kind == K::List, what, ": corrupt legacy file (no list of storage keys)");
  // Each storage in the keys' order: an int64 element count, then its bytes.
  std::map<std::string, std::string_view> data;
  for (const PyValue* key : keys->items) {
    PTL_CHECK(key->kind == K::String, what, ": corrupt legacy file (a storage key is not a str)");
    auto found = u.index.find(key->s);
    const Storage* s = found == u.index.end() ? nullptr : &u.storages[found->second];
    PTL_CHECK(s != nullptr && pos <= bytes.size() && bytes.size() - pos >= 8, what,
              ": truncated or corrupt legacy file at storage '", key->s, "'");
    uint64_t n = 0;
    for (int b = 7; b >= 0; --b) n = (n << 8) | static_cast<unsigned char>(bytes[pos + b]);
    pos += 8;
    PTL_CHECK(n == s->numel && n <= (bytes.size() - pos) / s->type->element, what,
              ": truncated or corrupt legacy file: storage '", key->s, "' of ", n,
              " elements (expected ", s->numel, ") with ", bytes.size() - pos, " bytes left");
    data[key->s] = bytes.substr(pos, n * s->type->element);
    pos += n * s->type->element;
  }
  PthFile out = build_tensors(dict, u, what, notes, [&](const Storage& s) {
    auto it = data.find(s.key);
    PTL_CHECK(it != data.end(), what, ": storage '", s.key, "' has no data: truncated file");
    return it->second;
  });
  out.format = "PyTorch legacy";
  return out;
}

}  // namespace

bool looks_like_pth(std::string_view bytes) {
  return looks_like_zip(bytes) || (!bytes.empty() && static_cast<unsigned char>(bytes[0]) == 0x80);
}

PthFile parse_pth(std::string_view bytes, const std::string& what) {
  return looks_like_zip(bytes) ? parse_zip(bytes, what) : parse_legacy(bytes, what);
}

}  // namespace ptl
