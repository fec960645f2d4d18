#include "data/class_datasets.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "base/error.h"
#include "data/file_util.h"
#include "data/image_decode.h"

namespace ptl::data {

namespace {
constexpr size_t kCifarPixels = 32 * 32 * 3;

uint32_t be32(const std::string& b, size_t at) {
  auto u = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(b[at + i])); };
  return (u(0) << 24) | (u(1) << 16) | (u(2) << 8) | u(3);
}

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

// Checks an IDX header: magic 0x000008<ndim> and the byte count; returns the dims.
std::vector<uint32_t> idx_header(const std::string& b, const std::string& what, uint32_t ndim) {
  const uint32_t magic = 0x800u + ndim;
  PTL_CHECK(b.size() >= 4 + 4 * ndim, what, ": ", b.size(),
            " bytes is too short for an IDX header");
  PTL_CHECK(be32(b, 0) == magic, what, ": bad IDX magic ", hex32(be32(b, 0)), ", expected ",
            hex32(magic), ndim == 3 ? " (images)" : " (labels)");
  std::vector<uint32_t> dims(ndim);
  uint64_t payload = 1;
  for (uint32_t d = 0; d < ndim; ++d) {
    dims[d] = be32(b, 4 + 4 * d);
    PTL_CHECK(dims[d] == 0 || payload <= (uint64_t{1} << 40) / dims[d], what,
              ": IDX dimensions too large");
    payload *= dims[d];
  }
  const uint64_t want = 4 + 4 * ndim + payload;
  PTL_CHECK(b.size() == want, what, ": wrong size: ", b.size(), " bytes, the IDX header says ",
            want);
  return dims;
}

void load_cifar(ClassDataset& ds, const std::string& root, bool cifar100, BadInput& bad) {
  const std::string sub = cifar100 ? "cifar-100-binary" : "cifar-10-batches-bin";
  const std::string first = cifar100 ? "train.bin" : "data_batch_1.bin";
  const std::string dir = is_file(join(root, first)) ? root : join(root, sub);
  PTL_CHECK(is_dir(dir), root, ": missing folder (expected ", first, " here or in ", sub, "/)");
  std::vector<std::pair<std::string, std::vector<std::string>>> splits;
  if (cifar100)
    splits = {{"train", {"train.bin"}}, {"test", {"test.bin"}}};
  else
    splits = {{"train",
               {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
                "data_batch_5.bin"}},
              {"test", {"test_batch.bin"}}};
  for (const auto& [name, files] : splits) {
    ClassSplit s;
    s.name = name;
    for (const auto& f : files)
      parse_cifar(read_file(join(dir, f)), join(dir, f), cifar100, s, bad);
    PTL_CHECK(s.size() > 0, join(dir, files[0]), ": no records (empty split)");
    ds.splits.push_back(std::move(s));
  }
  ds.num_classes = cifar100 ? 100 : 10;
}

void load_idx(ClassDataset& ds, const std::string& root) {
  PTL_CHECK(is_dir(root), root, ": missing folder");
  auto find = [&](const std::string& stem) {
    for (const auto& p : {join(root, stem), join(root, stem + ".gz")})
      if (is_file(p)) return p;
    fail(str(root, ": missing ", stem, " (or ", stem, ".gz)"));
  };
  int64_t max_label = -1;
  for (const auto& [name, prefix] :
       {std::pair<std::string, std::string>{"train", "train"}, {"test", "t10k"}}) {
    const std::string ip = find(prefix + "-images-idx3-ubyte"),
                      lp = find(prefix + "-labels-idx1-ubyte");
    ClassSplit s;
    s.name = name;
    parse_idx_images(read_maybe_gz(ip), ip, s);
    s.labels = parse_idx_labels(read_maybe_gz(lp), lp);
    const size_t n = s.pixels.size() / (static_cast<size_t>(s.h) * s.w);
    PTL_CHECK(n == s.labels.size(), ip, " has ", n, " images but ", lp, " has ", s.labels.size(),
              " labels");
    PTL_CHECK(n > 0, ip, ": no images (empty split)");
    for (int64_t l : s.labels) max_label = std::max(max_label, l);
    ds.splits.push_back(std::move(s));
  }
  ds.num_classes = max_label + 1;
}

void load_folder(ClassDataset& ds, const std::string& root, BadInput& bad) {
  PTL_CHECK(is_dir(root), root, ": missing folder");
  std::vector<std::string> names;
  for (const char* n : {"train", "val", "test"})
    if (is_dir(join(root, n))) names.push_back(n);
  const bool flat = names.empty();
  if (flat) names = {"train"};
  std::vector<std::string> classes;
  for (const auto& name : names) {
    const std::string dir = flat ? root : join(root, name);
    const auto here = list_dirs(dir);
    if (classes.empty()) classes = here;
    PTL_CHECK(!classes.empty(), dir, ": no class folders (empty split)");
    ClassSplit s;
    s.name = name;
    for (const auto& cls : here) {
      auto it = std::find(classes.begin(), classes.end(), cls);
      if (it == classes.end()) {
        bad.report(str(join(dir, cls), ": class folder not in the first split's classes"));
        continue;
      }
      for (const auto& p : list_files(join(dir, cls), image_extensions())) {
        s.paths.push_back(p);
        s.labels.push_back(it - classes.begin());
      }
    }
    PTL_CHECK(s.size() > 0, dir, ": no images (empty split)");
    ds.splits.push_back(std::move(s));
  }
  ds.num_classes = static_cast<int64_t>(classes.size());
}
}  // namespace

const ClassSplit& ClassDataset::split(const std::string& n) const {
  for (const auto& s : splits)
    if (s.name == n) return s;
  fail(str(name, ": no split '", n, "'"));
}

bool parse_class_format(const std::string& name, ClassFormat& out) {
  static const std::map<std::string, ClassFormat> names = {
      {"cifar10", ClassFormat::Cifar10}, {"cifar100", ClassFormat::Cifar100},
      {"mnist", ClassFormat::Idx},       {"fashion-mnist", ClassFormat::Idx},
      {"idx", ClassFormat::Idx},         {"folder", ClassFormat::Folder}};
  auto it = names.find(name);
  if (it == names.end()) return false;
  out = it->second;
  return true;
}

void parse_cifar(const std::string& bytes, const std::string& what, bool cifar100, ClassSplit& into,
                 BadInput& bad) {
  const size_t label_bytes = cifar100 ? 2 : 1, record = label_bytes + kCifarPixels;
  const int64_t classes = cifar100 ? 100 : 10;
  PTL_CHECK(!bytes.empty() && bytes.size() % record == 0, what, ": wrong size: ", bytes.size(),
            " bytes is not a whole number of ", record, "-byte ",
            cifar100 ? "CIFAR-100" : "CIFAR-10", " records");
  into.h = into.w = 32;
  into.c = 3;
  const size_t n = bytes.size() / record;
  into.pixels.reserve(into.pixels.size() + n * kCifarPixels);
  for (size_t r = 0; r < n; ++r) {
    const auto* rec = reinterpret_cast<const uint8_t*>(bytes.data() + r * record);
    const int64_t label = rec[label_bytes - 1];  // CIFAR-100: the fine label
    if (label >= classes || (cifar100 && rec[0] >= 20)) {
      bad.report(
          str(what, ": record ", r, ": label ", label, " out of range (", classes, " classes)"));
      continue;
    }
    // Planes R, G, B of 32x32 -> interleaved HWC.
    const uint8_t* planes = rec + label_bytes;
    const size_t at = into.pixels.size();
    into.pixels.resize(at + kCifarPixels);
    for (size_t i = 0; i < 1024; ++i)
      for (size_t c = 0; c < 3; ++c) into.pixels[at + i * 3 + c] = planes[c * 1024 + i];
    into.labels.push_back(label);
  }
}

void parse_idx_images(const std::string& bytes, const std::string& what, ClassSplit& into) {
  const auto dims = idx_header(bytes, what, 3);
  // The side limit keeps h and w (ints) positive: with n = 0 the size check above passes any
  // rows and cols, and 2^31 or more would turn negative.
  PTL_CHECK(dims[1] > 0 && dims[2] > 0 && dims[1] <= 65535 && dims[2] <= 65535, what,
            ": IDX images of size ", dims[1], "x", dims[2], " (rows and columns must be 1..65535)");
  into.h = static_cast<int>(dims[1]);
  into.w = static_cast<int>(dims[2]);
  into.c = 1;
  into.pixels.assign(bytes.begin() + 16, bytes.end());
}

std::vector<int64_t> parse_idx_labels(const std::string& bytes, const std::string& what) {
  idx_header(bytes, what, 1);
  std::vector<int64_t> labels;
  labels.reserve(bytes.size() - 8);
  for (size_t i = 8; i < bytes.size(); ++i) labels.push_back(static_cast<uint8_t>(bytes[i]));
  return labels;
}

ClassSplit select_classes(const ClassSplit& split, int64_t num_classes,
                          const std::vector<int64_t>& classes, int64_t per_class,
                          const std::string& what) {
  std::vector<int64_t> relabel(static_cast<size_t>(num_classes), classes.empty() ? 0 : -1);
  if (classes.empty())
    for (int64_t c = 0; c < num_classes; ++c) relabel[static_cast<size_t>(c)] = c;
  for (size_t i = 0; i < classes.size(); ++i) {
    const int64_t c = classes[i];
    PTL_CHECK(c >= 0 && c < num_classes, what, ": class ", c, " does not exist (the dataset has ",
              num_classes, " classes, 0..", num_classes - 1, ")");
    PTL_CHECK(relabel[static_cast<size_t>(c)] < 0, what, ": class ", c, " is listed twice");
    relabel[static_cast<size_t>(c)] = static_cast<int64_t>(i);
  }
  ClassSplit out;
  out.name = split.name;
  out.h = split.h;
  out.w = split.w;
  out.c = split.c;
  const size_t image_bytes = static_cast<size_t>(split.h) * split.w * split.c;
  std::vector<int64_t> taken(static_cast<size_t>(num_classes), 0);
  for (int64_t i = 0; i < split.size(); ++i) {
    const int64_t label = split.labels[static_cast<size_t>(i)];
    const int64_t to = relabel[static_cast<size_t>(label)];
    if (to < 0 || (per_class > 0 && taken[static_cast<size_t>(label)] >= per_class)) continue;
    ++taken[static_cast<size_t>(label)];
    out.labels.push_back(to);
    if (!split.paths.empty()) out.paths.push_back(split.paths[static_cast<size_t>(i)]);
    if (!split.pixels.empty())
      out.pixels.insert(out.pixels.end(), split.pixels.begin() + i * image_bytes,
                        split.pixels.begin() + (i + 1) * image_bytes);
  }
  return out;
}

ClassDataset load_classification(ClassFormat format, const std::string& root, BadInput& bad) {
  ClassDataset ds;
  switch (format) {
    case ClassFormat::Cifar10:
      ds.name = "cifar10";
      load_cifar(ds, root, false, bad);
      break;
    case ClassFormat::Cifar100:
      ds.name = "cifar100";
      load_cifar(ds, root, true, bad);
      break;
    case ClassFormat::Idx:
      ds.name = "idx";
      load_idx(ds, root);
      break;
    case ClassFormat::Folder:
      ds.name = "folder";
      load_folder(ds, root, bad);
      break;
  }
  return ds;
}

}  // namespace ptl::data
