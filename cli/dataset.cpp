// `ptl dataset`: lists a dataset and prints, per split, its images, identities (or classes) and
// cameras; --check also decodes every image file.
#include <cstdio>
#include <string>
#include <vector>

#include "base/error.h"
#include "cli/args.h"
#include "cli/command.h"
#include "data/class_datasets.h"
#include "data/reid_datasets.h"
#include "data/source.h"
#include "engine/json.h"

namespace {
using namespace ptl::data;

struct Row {
  std::string split;
  int64_t images, ids, cameras;  // cameras < 0: classification (ids are classes)
};

std::vector<Row> reid_rows(ReidFormat f, const std::string& root, bool check, bool with_val,
                           BadInput& bad) {
  ReidOptions opts;
  opts.msmt17_train_val = with_val;
  ReidDataset ds = load_reid(f, root, bad, opts);
  std::vector<Row> rows;
  for (auto [name, items] : {std::pair<std::string, std::vector<ReidItem>*>{"train", &ds.train},
                             {"query", &ds.query},
                             {"gallery", &ds.gallery}}) {
    if (check) drop_unloadable(*items, bad);
    const SplitStats s = split_stats(*items);
    rows.push_back({name, s.images, s.ids, s.cameras});
  }
  return rows;
}

std::vector<Row> class_rows(ClassFormat f, const std::string& root, bool check, BadInput& bad) {
  const ClassDataset ds = load_classification(f, root, bad);
  std::vector<Row> rows;
  for (ClassSplit s : ds.splits) {
    if (check) drop_unloadable(s, bad);
    rows.push_back({s.name, s.size(), ds.num_classes, -1});
  }
  return rows;
}

int run(const std::vector<std::string>& argv) {
  ptl::cli::Args args(
      "usage: ptl dataset --format NAME --root DIR [--json] [--check] [--on-bad-image error|skip]\n"
      "                   [--msmt-train-val]\n"
      "  Prints each split's number of images, identities (classes) and cameras.\n"
      "  formats: market1501 dukemtmc cuhk03-detected cuhk03-labeled msmt17 list\n"
      "           cifar10 cifar100 mnist (= fashion-mnist, idx) folder\n"
      "  --json            {\"train\": {\"images\": N, \"ids\": N, \"cameras\": N}, \"query\": "
      "..., \"gallery\": ...}\n"
      "                    (classification: {\"train\": {\"images\": N, \"classes\": N}, \"test\": "
      "...})\n"
      "  --check           decode every image file as well\n"
      "  --on-bad-image    error (default): stop at the first bad file name, list line or image;\n"
      "                    skip: leave it out and count a warning\n"
      "  --msmt-train-val  MSMT17 training set with list_val.txt added (32,621 images instead of\n"
      "                    30,248; the config key data.msmt17_train_val)",
      {"format", "root", "on-bad-image"}, {"json", "check", "msmt-train-val"});
  if (!args.parse(argv)) return 0;
  const std::string format = args.require("format"), root = args.require("root");
  BadInput bad(parse_on_bad(args.get("on-bad-image", "error")));
  ReidFormat rf;
  ClassFormat cf;
  std::vector<Row> rows;
  if (parse_reid_format(format, rf))
    rows = reid_rows(rf, root, args.flag("check"), args.flag("msmt-train-val"), bad);
  else if (parse_class_format(format, cf))
    rows = class_rows(cf, root, args.flag("check"), bad);
  else
    ptl::fail("unknown --format '" + format + "'; see ptl dataset --help");

  for (const auto& m : bad.messages())
    std::fprintf(stderr, "ptl: warning: skipped %s\n", m.c_str());
  if (bad.count() > 0)
    std::fprintf(stderr, "ptl: warning: %lld bad inputs skipped\n",
                 static_cast<long long>(bad.count()));

  if (args.flag("json")) {
    std::string out = "{";
    for (size_t i = 0; i < rows.size(); ++i) {
      const Row& r = rows[i];
      out += ptl::str(i ? ", " : "", ptl::json_quote(r.split), ": {\"images\": ", r.images);
      out += r.cameras < 0 ? ptl::str(", \"classes\": ", r.ids, "}")
                           : ptl::str(", \"ids\": ", r.ids, ", \"cameras\": ", r.cameras, "}");
    }
    std::printf("%s}\n", out.c_str());
    return 0;
  }
  std::printf("%s at %s\n", format.c_str(), root.c_str());
  for (const auto& r : rows) {
    if (r.cameras < 0)
      std::printf("  %-8s %8lld images %6lld classes\n", r.split.c_str(),
                  static_cast<long long>(r.images), static_cast<long long>(r.ids));
    else
      std::printf("  %-8s %8lld images %6lld ids %3lld cameras\n", r.split.c_str(),
                  static_cast<long long>(r.images), static_cast<long long>(r.ids),
                  static_cast<long long>(r.cameras));
  }
  return 0;
}
}  // namespace

PTL_COMMAND("dataset", "list a dataset's splits: images, ids or classes, cameras", run);
