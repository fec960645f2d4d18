// The data of a training run, from the data settings (data.* keys): a ReID dataset (train with
// relabelled ids; query and gallery with raw ids and cameras) or a classification dataset
// (train, the evaluation split and, when a dataset has both val and test, the held-out test
// split), as loader sources with their transforms.
#pragma once
#include <memory>
#include <string>

#include "data/bad_input.h"
#include "data/source.h"
#include "data/transform.h"
#include "train/settings.h"

namespace ptl {

struct TaskData {
  bool reid = true;
  std::string description;  // one line for the log
  std::shared_ptr<data::DataSource> train, query, gallery;
  std::shared_ptr<data::DataSource> test;           // classification: the evaluation split
  std::string eval_split;                           // its name: "val" or "test"
  std::shared_ptr<data::DataSource> held_out_test;  // test/ when val/ evaluates; else null
  int64_t num_classes = 0;                          // training identities or classes
  int64_t channels = 3;
  data::Transform train_transform, eval_transform;
  std::shared_ptr<data::BadInput> bad;
};

TaskData load_task_data(const DataSettings& s);
// What load_task_data gives without reading data.root (a model run on images from elsewhere:
// `ptl embed`, `ptl search`): the kind of data, its channels, the transforms and the bad-input
// policy; no splits, num_classes 0.
TaskData task_without_data(const DataSettings& s);

// What a data.format implies without reading the data: whether it is a ReID dataset, and the
// images' channels (1 for the IDX formats: MNIST, Fashion-MNIST; else 3). Unknown: an error.
bool is_reid_format(const std::string& format);
int64_t format_channels(const std::string& format);

}  // namespace ptl
