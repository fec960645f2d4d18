#include "train/task_data.h"

#include <algorithm>
#include <filesystem>

#include "base/text.h"
#include "data/class_datasets.h"
#include "data/reid_datasets.h"

namespace ptl {

namespace {
data::Transform train_transform(const DataSettings& s) {
  data::Transform t;
  t.height = s.height;
  t.width = s.width;
  t.interp = data::Interp::Bicubic;  // the release's resize
  t.flip_p = s.flip;
  t.pad = s.pad;
  t.erasing = data::Erasing::release();
  t.erasing.p = s.erasing;
  return t;
}
// The log's note on skipped inputs (data.on_bad_image=skip): file names, list lines and
// unreadable images, with the first reason.
std::string class_list(const std::vector<int64_t>& classes) {
  std::string out;
  for (int64_t c : classes) out += (out.empty() ? "" : ", ") + std::to_string(c);
  return "[" + out + "]";
}

std::string skipped_note(int64_t images, const data::BadInput& bad) {
  if (bad.count() == 0) return "";
  return str("; skipped ", count_of(bad.count(), "bad input"), " (", images,
             " of them unreadable images), first: ", bad.messages().front());
}
}  // namespace

bool is_reid_format(const std::string& format) {
  data::ReidFormat rf;
  data::ClassFormat cf;
  PTL_CHECK(data::parse_reid_format(format, rf) || data::parse_class_format(format, cf),
            "config: unknown data.format '", format, "' (ptl dataset --help lists the formats)");
  return data::parse_reid_format(format, rf);
}

int64_t format_channels(const std::string& format) {
  data::ClassFormat cf;
  return !is_reid_format(format) && data::parse_class_format(format, cf) &&
                 cf == data::ClassFormat::Idx
             ? 1
             : 3;
}

TaskData task_without_data(const DataSettings& s) {
  TaskData d;
  d.reid = is_reid_format(s.format);
  d.channels = format_channels(s.format);
  d.description = str(s.format, ": no data read");
  d.bad = std::make_shared<data::BadInput>(s.on_bad_image, "data.on_bad_image=skip");
  d.train_transform = train_transform(s);
  d.eval_transform = data::Transform::eval(s.height, s.width, data::Interp::Bicubic);
  if (!d.reid) {
    // Classification: no erasing or bicubic resize unless asked; flips and crops as configured.
    d.train_transform.interp = d.eval_transform.interp = data::Interp::Bilinear;
    if (d.channels == 1) {
      d.train_transform.grey();
      d.eval_transform.grey();
    }
  }
  return d;
}

TaskData load_task_data(const DataSettings& s) {
  const std::string& format = s.format;
  const std::string& root = s.root;
  PTL_CHECK(!root.empty(),
            "config: data.root is empty; set it to the dataset folder (data.root=/path)");
  PTL_CHECK(std::filesystem::is_directory(root), "data.root ", root,
            ": no such folder; set data.root to the dataset folder (data.root=/path)");
  TaskData d = task_without_data(s);
  const bool skip = d.bad->policy() == data::OnBad::Skip;

  data::ReidFormat rf;
  data::ClassFormat cf;
  if (data::parse_reid_format(format, rf)) {
    data::ReidOptions ro;
    ro.msmt17_train_val = s.msmt17_train_val;
    data::ReidDataset ds = data::load_reid(rf, root, *d.bad, ro);
    // Under data.on_bad_image=skip every split drops its unreadable images up front, before the
    // epoch plans are drawn: evaluation scores every row it is given (a row skipped in a batch
    // would shift the ids), and a PK batch that lost an image could leave a person without a
    // positive for the triplet loss.
    const int64_t dropped = skip ? data::drop_unloadable(ds.train, *d.bad) +
                                       data::drop_unloadable(ds.query, *d.bad) +
                                       data::drop_unloadable(ds.gallery, *d.bad)
                                 : 0;
    d.num_classes = static_cast<int64_t>(ds.train_raw_ids.size());
    d.train = data::make_source(ds.train);
    d.query = data::make_source(ds.query);
    d.gallery = data::make_source(ds.gallery);
    d.description = str(format, " at ", root, ": train ", ds.train.size(), " images / ",
                        d.num_classes, " ids, query ", ds.query.size(), ", gallery ",
                        ds.gallery.size(), skipped_note(dropped, *d.bad));
  } else if (data::parse_class_format(format, cf)) {
    data::ClassDataset ds = data::load_classification(cf, root, *d.bad);
    d.num_classes = s.classes.empty() ? ds.num_classes : static_cast<int64_t>(s.classes.size());
    // data.classes / data.per_class cut a transfer task from the dataset: every split keeps the
    // chosen classes, and training keeps a fixed few of each.
    auto cut = [&](const char* name, int64_t per_class) {
      return data::select_classes(ds.split(name), ds.num_classes, s.classes, per_class,
                                  str(root, " (data.classes)"));
    };
    data::ClassSplit train = cut("train", s.per_class);
    int64_t dropped = skip ? data::drop_unloadable(train, *d.bad) : 0;  // as for ReID
    d.train = data::make_source(train);
    // Evaluation (and so the choice of best.safetensors) uses val/ when the dataset has one and
    // test/ otherwise; with both, test/ is held out and scored once, after training.
    auto has = [&](const char* n) {
      return std::any_of(ds.splits.begin(), ds.splits.end(),
                         [&](const data::ClassSplit& s) { return s.name == n; });
    };
    PTL_CHECK(has("val") || has("test"), root,
              ": the dataset has only training images, so nothing to evaluate on; ",
              "arrange it as train/<class>/, val/<class>/ and/or test/<class>/");
    d.eval_split = has("val") ? "val" : "test";
    auto eval_source = [&](const char* name) {
      data::ClassSplit split = cut(name, 0);
      if (skip) dropped += data::drop_unloadable(split, *d.bad);
      return data::make_source(split);
    };
    d.test = eval_source(d.eval_split.c_str());
    if (has("val") && has("test")) d.held_out_test = eval_source("test");
    d.description =
        str(format, " at ", root, ": train ", train.size(), " images, ", d.eval_split, " ",
            d.test->size(),
            d.held_out_test ? str(", test ", d.held_out_test->size(), " (held out)") : "", ", ",
            d.num_classes, " classes",
            s.classes.empty() ? "" : str(" (data.classes ", class_list(s.classes), ")"),
            s.per_class > 0 ? str(", ", s.per_class, " training images per class") : "",
            skipped_note(dropped, *d.bad));
  } else {
    fail(str("config: unknown data.format '", format, "' (ptl dataset --help lists the formats)"));
  }
  return d;
}

}  // namespace ptl
