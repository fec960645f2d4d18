// Image-classification datasets:
//   cifar10    data_batch_1..5.bin, test_batch.bin (records: label byte + 3,072 bytes R,G,B planes)
//   cifar100   train.bin, test.bin (records: coarse byte, fine byte, 3,072 bytes); fine labels
//   idx        MNIST / Fashion-MNIST {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]
//   folder     <split>/<class>/<image> for splits train/, val/, test/ (or <class>/<image> at the
//              root: one "train" split); classes are the sorted folder names of the first split.
// CIFAR and IDX images live in memory (HWC uint8); folder datasets keep file paths.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/bad_input.h"

namespace ptl::data {

struct ClassSplit {
  std::string name;                // "train", "val", "test"
  int h = 0, w = 0, c = 0;         // in-memory images: size of each
  std::vector<uint8_t> pixels;     // in-memory images: N * h * w * c, HWC each
  std::vector<std::string> paths;  // folder datasets: one path per image
  std::vector<int64_t> labels;
  int64_t size() const { return static_cast<int64_t>(labels.size()); }
};

struct ClassDataset {
  std::string name;
  int64_t num_classes = 0;
  std::vector<ClassSplit> splits;
  const ClassSplit& split(const std::string& name) const;  // throws when absent
};

enum class ClassFormat { Cifar10, Cifar100, Idx, Folder };

// "cifar10", "cifar100", "mnist" / "fashion-mnist" / "idx", "folder"; false otherwise.
bool parse_class_format(const std::string& name, ClassFormat& out);

// Loads (CIFAR, IDX) or lists (folder) a dataset. Wrong file sizes and magic numbers throw
// ptl::Error naming the file; per-record problems (a label out of range, a folder image with an
// unknown extension) go to `bad`.
ClassDataset load_classification(ClassFormat format, const std::string& root, BadInput& bad);

// A transfer task cut from a dataset: keeps the images of `classes` (relabelled 0, 1, ... in the
// order given; empty: every class, labels unchanged) and, when per_class > 0, only the first
// per_class of each class in split order (a fixed labelled subset, the same for every seed).
// A class id out of range or given twice throws naming `what` and the fix.
ClassSplit select_classes(const ClassSplit& split, int64_t num_classes,
                          const std::vector<int64_t>& classes, int64_t per_class,
                          const std::string& what);

// Binary parsers, exposed for tests and fuzzing. `what` names the data in errors.
// Appends the records of one CIFAR file to `into` (32x32x3 HWC).
void parse_cifar(const std::string& bytes, const std::string& what, bool cifar100, ClassSplit& into,
                 BadInput& bad);
// IDX images (magic 0x00000803, dims n, rows, cols): sets h, w, c = 1 and pixels of `into`.
void parse_idx_images(const std::string& bytes, const std::string& what, ClassSplit& into);
// IDX labels (magic 0x00000801, dim n).
std::vector<int64_t> parse_idx_labels(const std::string& bytes, const std::string& what);

}  // namespace ptl::data
