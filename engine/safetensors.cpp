#include "engine/safetensors.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "engine/atomic_file.h"
#include "engine/json.h"

namespace ptl {

namespace {
constexpr uint64_t kMaxHeader = 100ull << 20;  // the format's own limit is 100 MB

const char* st_dtype(DType t) {
  switch (t) {
    case DType::F32:
      return "F32";
    case DType::F64:
      return "F64";
    case DType::I64:
      return "I64";
    case DType::I32:
      return "I32";
    case DType::BF16:
      return "BF16";
  }
  return "?";
}

DType parse_dtype(const std::string& s, const std::string& what, const std::string& name) {
  if (s == "F32") return DType::F32;
  if (s == "F64") return DType::F64;
  if (s == "I64") return DType::I64;
  if (s == "I32") return DType::I32;
  if (s == "BF16") return DType::BF16;
  fail(str(what, ": tensor '", name, "' has dtype ", s,
           ", ptl reads F32, F64, BF16, I64 and I32 (convert it with .float() or .long() first)"));
}

uint64_t read_le64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

int64_t to_int(const Json& j, const std::string& what, const std::string& name, const char* field) {
  PTL_CHECK(j.kind == Json::Kind::Number && j.number >= 0 && std::floor(j.number) == j.number &&
                j.number < 9.0e15,
            what, ": tensor '", name, "': ", field, " must hold non-negative integers");
  return static_cast<int64_t>(j.number);
}
}  // namespace

std::string read_file_bytes(const std::string& path) {
  PTL_CHECK(!std::filesystem::is_directory(path), path, ": a folder, not a file");
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  PTL_CHECK(f.good(), path, ": cannot open (", std::strerror(errno), ")");
  // One read into a string of the file's size: weights files run to hundreds of MB.
  const std::streamoff size = f.tellg();
  PTL_CHECK(size >= 0, path, ": cannot read (not a regular file)");
  std::string bytes(static_cast<size_t>(size), '\0');
  f.seekg(0);
  f.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  PTL_CHECK(f.gcount() == static_cast<std::streamsize>(bytes.size()), path, ": cannot read (",
            std::strerror(errno), ")");
  return bytes;
}

bool looks_like_safetensors(const std::string& bytes) {
  if (bytes.size() < 9) return false;
  const uint64_t hlen = read_le64(reinterpret_cast<const unsigned char*>(bytes.data()));
  return hlen <= kMaxHeader && hlen <= bytes.size() - 8 && bytes[8] == '{';
}

TensorMap parse_safetensors(const std::string& bytes, const std::string& what) {
  PTL_CHECK(bytes.size() >= 8, what, ": not a safetensors file (", bytes.size(),
            " bytes, shorter than the 8-byte header length)");
  const auto* u = reinterpret_cast<const unsigned char*>(bytes.data());
  uint64_t hlen = read_le64(u);
  PTL_CHECK(hlen <= kMaxHeader && hlen <= bytes.size() - 8, what, ": header length ", hlen,
            " exceeds the file (", bytes.size(), " bytes): truncated or not a safetensors file");
  Json header = Json::parse(bytes.substr(8, hlen), what);
  PTL_CHECK(header.kind == Json::Kind::Object, what, ": the header is not a JSON object");
  const uint64_t data_size = bytes.size() - 8 - hlen;
  const char* data = bytes.data() + 8 + hlen;

  TensorMap out;
  for (const auto& [name, info] : header.object) {
    if (name == "__metadata__") continue;
    PTL_CHECK(info.kind == Json::Kind::Object, what, ": entry '", name, "' is not an object");
    const Json* dt = info.find("dtype");
    const Json* sh = info.find("shape");
    const Json* off = info.find("data_offsets");
    PTL_CHECK(dt && dt->kind == Json::Kind::String && sh && sh->kind == Json::Kind::Array && off &&
                  off->kind == Json::Kind::Array && off->array.size() == 2,
              what, ": tensor '", name, "' lacks dtype, shape or data_offsets");
    DType dtype = parse_dtype(dt->string, what, name);
    Shape shape;
    for (const Json& d : sh->array) shape.push_back(to_int(d, what, name, "shape"));
    PTL_CHECK(shape.size() <= 8, what, ": tensor '", name, "' has ", shape.size(), " dimensions");
    // Tensor multiplies the dims one by one for its element count and strides, so with a zero
    // dim (no data to check against) the others' product must still fit in int64.
    long double span = 1;
    for (int64_t d : shape) span *= static_cast<long double>(std::max<int64_t>(d, 1));
    PTL_CHECK(span < 0x1p62L, what, ": tensor '", name, "' of shape ", shape_str(shape),
              " is too large");
    int64_t begin = to_int(off->array[0], what, name, "data_offsets");
    int64_t end = to_int(off->array[1], what, name, "data_offsets");
    // Guard the product against overflow before trusting it.
    long double want = dtype_size(dtype);
    for (int64_t d : shape) want *= static_cast<long double>(d);
    PTL_CHECK(begin <= end && static_cast<uint64_t>(end) <= data_size, what, ": tensor '", name,
              "' has data_offsets [", begin, ", ", end, "] outside the data section (", data_size,
              " bytes): the file is truncated or corrupt");
    PTL_CHECK(want == static_cast<long double>(end - begin), what, ": tensor '", name,
              "' of shape ", shape_str(shape), " and dtype ", dt->string, " needs ",
              static_cast<double>(want), " bytes but its data_offsets span ", end - begin);
    Tensor t = Tensor::empty(shape, dtype);
    std::memcpy(t.raw_data(), data + begin, static_cast<size_t>(end - begin));
    out[name] = t;
  }
  return out;
}

namespace {
std::string header_json(const TensorMap& tensors, const std::map<std::string, std::string>& meta,
                        std::vector<std::pair<const Tensor*, size_t>>* layout) {
  std::string h = "{";
  bool first = true;
  if (!meta.empty()) {
    h += "\"__metadata__\":{";
    bool f2 = true;
    for (const auto& [k, v] : meta) {
      h += (f2 ? "" : ",") + json_quote(k) + ":" + json_quote(v);
      f2 = false;
    }
    h += "}";
    first = false;
  }
  size_t offset = 0;
  for (const auto& [name, t] : tensors) {
    PTL_CHECK(name != "__metadata__", "safetensors: '__metadata__' is reserved");
    size_t n = static_cast<size_t>(t.numel()) * dtype_size(t.dtype());
    h += (first ? "" : ",") + json_quote(name) + ":{\"dtype\":\"" + st_dtype(t.dtype()) +
         "\",\"shape\":[";
    for (size_t i = 0; i < t.shape().size(); ++i)
      h += (i ? "," : "") + std::to_string(t.shape()[i]);
    h += "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + n) + "]}";
    layout->emplace_back(&t, n);
    offset += n;
    first = false;
  }
  h += "}";
  while (h.size() % 8) h += ' ';  // keeps the data section 8-byte aligned, as the format advises
  return h;
}
}  // namespace

std::string serialize_safetensors(const TensorMap& tensors,
                                  const std::map<std::string, std::string>& metadata) {
  std::vector<std::pair<const Tensor*, size_t>> layout;
  std::string h = header_json(tensors, metadata, &layout);
  std::string out(8, '\0');
  uint64_t hl = h.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((hl >> (8 * i)) & 0xFF);
  out += h;
  for (const auto& [t, n] : layout) {
    Tensor c = t->to(Device::cpu()).contiguous();
    out.append(static_cast<const char*>(c.raw_data()), n);
  }
  return out;
}

void save_safetensors(const std::string& path, const TensorMap& tensors,
                      const std::map<std::string, std::string>& metadata) {
  write_file_atomic(path, serialize_safetensors(tensors, metadata));
}

TensorMap load_safetensors(const std::string& path) {
  return parse_safetensors(read_file_bytes(path), path);
}

std::map<std::string, std::string> load_safetensors_metadata(const std::string& path) {
  return parse_safetensors_metadata(read_file_bytes(path), path);
}

std::map<std::string, std::string> parse_safetensors_metadata(const std::string& bytes,
                                                              const std::string& what) {
  PTL_CHECK(bytes.size() >= 8, what, ": not a safetensors file");
  uint64_t hlen = read_le64(reinterpret_cast<const unsigned char*>(bytes.data()));
  PTL_CHECK(hlen <= kMaxHeader && hlen <= bytes.size() - 8, what, ": truncated header");
  Json header = Json::parse(bytes.substr(8, hlen), what);
  std::map<std::string, std::string> meta;
  if (const Json* m = header.find("__metadata__"))
    for (const auto& [k, v] : m->object)
      if (v.kind == Json::Kind::String) meta[k] = v.string;
  return meta;
}

}  // namespace ptl
