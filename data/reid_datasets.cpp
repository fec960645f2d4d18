#include "data/reid_datasets.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include "base/error.h"
#include "data/file_util.h"
#include "data/image_decode.h"
#include "engine/json.h"

namespace ptl::data {

namespace {
enum class Split { Train, Query, Gallery };

// Junk (-1) is dropped everywhere. In Market-style names id 0 marks a distractor, kept in the
// gallery only; in list files and torchreid's CUHK03 json 0 is an ordinary id.
bool keep(int64_t pid, Split split, bool zero_is_distractor) {
  if (pid == 0 && zero_is_distractor) return split == Split::Gallery;
  return pid >= 0;
}

// Strict integer: optional '-', then digits only.
bool parse_int(const std::string& s, int64_t& out) {
  if (s.empty() || s.size() > 18) return false;
  size_t i = s[0] == '-' ? 1 : 0;
  if (i == s.size()) return false;
  int64_t v = 0;
  for (; i < s.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    v = v * 10 + (s[i] - '0');
  }
  out = s[0] == '-' ? -v : v;
  return true;
}

bool is_pid_char(char c) {
  return c == '-' || std::isdigit(static_cast<unsigned char>(c));
}

// A Market-style folder: every image file's name must parse, with a camera digit 1..9 (the
// synthetic target domain and CUHK03-NP go past Market's 6 cameras, so no per-dataset limit).
std::vector<ReidItem> scan_folder(const std::string& dir, Split split, BadInput& bad) {
  std::vector<ReidItem> items;
  const auto files = list_files(dir, image_extensions());
  PTL_CHECK(!files.empty(), dir, ": no images (empty split)");
  for (const auto& path : files) {
    int64_t pid = 0, cam = 0;
    if (!parse_market_name(base_name(path), pid, cam)) {
      bad.report(str(
          path, ": file name does not match <pid>_c<camera>... (e.g. 0002_c1s1_000451_03.jpg)"));
      continue;
    }
    if (cam < 1 || pid < -1) {
      bad.report(str(path, ": person id ", pid, " / camera ", cam,
                     " out of range (ids >= -1, cameras 1..9)"));
      continue;
    }
    if (keep(pid, split, true)) items.push_back({path, pid, cam - 1});
  }
  PTL_CHECK(!items.empty(), dir, ": no usable images (empty split)");
  return items;
}

// The first of `candidates` that holds every one of `needed` (folders or files).
std::string find_root(const std::string& what, const std::vector<std::string>& candidates,
                      const std::vector<std::string>& needed) {
  for (const auto& c : candidates) {
    bool ok = true;
    for (const auto& n : needed) ok = ok && (is_dir(join(c, n)) || is_file(join(c, n)));
    if (ok) return c;
  }
  std::string looked;
  for (const auto& c : candidates) looked += "\n  " + c;
  std::string want;
  for (const auto& n : needed) want += " " + n;
  fail(str(what, ": missing folder: no folder with", want, " found; looked in:", looked));
}

ReidDataset load_market_style(const std::string& name, const std::string& root,
                              const std::vector<std::string>& subdirs, BadInput& bad) {
  std::vector<std::string> candidates = {root};
  for (const auto& s : subdirs) candidates.push_back(join(root, s));
  ReidDataset ds;
  ds.name = name;
  ds.root = find_root(name, candidates, {"bounding_box_train", "bounding_box_test", "query"});
  ds.train = scan_folder(join(ds.root, "bounding_box_train"), Split::Train, bad);
  ds.query = scan_folder(join(ds.root, "query"), Split::Query, bad);
  ds.gallery = scan_folder(join(ds.root, "bounding_box_test"), Split::Gallery, bad);
  return ds;
}

// A pid or camid read from JSON as a double: a whole number of at most 2^53 in size, the range
// in which a double holds integers exactly (a cast of a fraction, NaN or 1e300 to int64 would be
// wrong or undefined).
int64_t json_id(const Json& v, const std::string& what, const std::string& key, size_t i,
                const char* field) {
  PTL_CHECK(std::isfinite(v.number) && v.number == std::floor(v.number) &&
                std::fabs(v.number) <= 9007199254740992.0,
            what, ": ", key, "[", i, "] has ", field, " ", exact_number(v.number),
            ", which is not a whole number");
  return static_cast<int64_t>(v.number);
}

// torchreid's converted CUHK03: [{"train": [[path, pid, camid], ...], "query": ..., "gallery":
// ...}] with paths from the converting machine; the file name is looked up in images_<variant>/.
std::vector<ReidItem> json_split(const Json& root, const std::string& key, const std::string& what,
                                 const std::string& images, Split split) {
  const Json* list = root.find(key);
  PTL_CHECK(list && list->kind == Json::Kind::Array, what, ": no \"", key, "\" list");
  std::vector<ReidItem> items;
  for (size_t i = 0; i < list->array.size(); ++i) {
    const Json& e = list->array[i];
    PTL_CHECK(e.kind == Json::Kind::Array && e.array.size() >= 3 &&
                  e.array[0].kind == Json::Kind::String && e.array[1].kind == Json::Kind::Number &&
                  e.array[2].kind == Json::Kind::Number,
              what, ": ", key, "[", i, "] is not [path, pid, camid]");
    const int64_t pid = json_id(e.array[1], what, key, i, "pid"),
                  camid = json_id(e.array[2], what, key, i, "camid");
    if (keep(pid, split, false))
      items.push_back({join(images, base_name(e.array[0].string)), pid, camid});
  }
  PTL_CHECK(!items.empty(), what, ": \"", key, "\" is empty (empty split)");
  return items;
}

ReidDataset load_cuhk03(const std::string& root, bool detected, BadInput& bad) {
  const std::string variant = detected ? "detected" : "labeled";
  const std::string name = "cuhk03-" + variant;
  const std::string images = "images_" + variant, split = "splits_new_" + variant + ".json";
  for (const auto& dir : {root, join(root, "cuhk03")}) {
    if (!is_dir(join(dir, images)) || !is_file(join(dir, split))) continue;
    const std::string what = join(dir, split);
    Json j = Json::parse(read_file(what), what);
    if (j.kind == Json::Kind::Array && !j.array.empty()) {  // a list of splits: take split 0
      Json first = std::move(j.array[0]);
      j = std::move(first);
    }
    ReidDataset ds;
    ds.name = name;
    ds.root = dir;
    ds.train = json_split(j, "train", what, join(dir, images), Split::Train);
    ds.query = json_split(j, "query", what, join(dir, images), Split::Query);
    ds.gallery = json_split(j, "gallery", what, join(dir, images), Split::Gallery);
    return ds;
  }
  return load_market_style(
      name, root, {variant, join("cuhk03-np", variant), join("cuhk03_release", variant)}, bad);
}

ReidDataset load_msmt17(const std::string& root, const ReidOptions& opts, BadInput& bad) {
  std::vector<std::string> candidates = {root};
  for (const char* v : {"MSMT17_V1", "MSMT17_V2", "msmt17/MSMT17_V1", "msmt17/MSMT17_V2"})
    candidates.push_back(join(root, v));
  ReidDataset ds;
  ds.name = "msmt17";
  ds.root =
      find_root("msmt17", candidates, {"list_train.txt", "list_query.txt", "list_gallery.txt"});
  const bool v2 = is_dir(join(ds.root, "mask_train_v2"));
  const std::string train_dir = join(ds.root, v2 ? "mask_train_v2" : "train");
  const std::string test_dir = join(ds.root, v2 ? "mask_test_v2" : "test");
  PTL_CHECK(is_dir(train_dir) && is_dir(test_dir), "msmt17 at ", ds.root, ": missing folder ",
            is_dir(train_dir) ? test_dir : train_dir);
  auto read_list = [&](const std::string& file, const std::string& base) {
    const std::string path = join(ds.root, file);
    auto items = parse_reid_list(read_file(path), path, base, ListKind::MSMT17, bad);
    PTL_CHECK(!items.empty(), path, ": no usable lines (empty split)");
    return items;
  };
  ds.train = read_list("list_train.txt", train_dir);
  if (opts.msmt17_train_val) {
    auto val = read_list("list_val.txt", train_dir);
    ds.train.insert(ds.train.end(), val.begin(), val.end());
  }
  ds.query = read_list("list_query.txt", test_dir);
  ds.gallery = read_list("list_gallery.txt", test_dir);
  return ds;
}

ReidDataset load_list(const std::string& root, BadInput& bad) {
  ReidDataset ds;
  ds.name = "list";
  ds.root = root;
  PTL_CHECK(is_dir(root), root, ": missing folder");
  const std::pair<const char*, std::vector<ReidItem>*> splits[] = {
      {"train.txt", &ds.train}, {"query.txt", &ds.query}, {"gallery.txt", &ds.gallery}};
  bool any = false;
  for (const auto& [file, items] : splits) {
    const std::string path = join(root, file);
    if (!is_file(path)) continue;
    any = true;
    *items = parse_reid_list(read_file(path), path, root, ListKind::Plain, bad);
    PTL_CHECK(!items->empty(), path, ": no usable lines (empty split)");
  }
  PTL_CHECK(any, root, ": missing list files: expected train.txt and/or query.txt + gallery.txt");
  return ds;
}
}  // namespace

bool parse_reid_format(const std::string& name, ReidFormat& out) {
  static const std::map<std::string, ReidFormat> names = {
      {"market1501", ReidFormat::Market1501},
      {"market", ReidFormat::Market1501},
      {"dukemtmc", ReidFormat::DukeMTMC},
      {"dukemtmcreid", ReidFormat::DukeMTMC},
      {"cuhk03-detected", ReidFormat::CUHK03Detected},
      {"cuhk03", ReidFormat::CUHK03Detected},
      {"cuhk03-labeled", ReidFormat::CUHK03Labeled},
      {"cuhk03-labelled", ReidFormat::CUHK03Labeled},
      {"msmt17", ReidFormat::MSMT17},
      {"list", ReidFormat::List}};
  auto it = names.find(name);
  if (it == names.end()) return false;
  out = it->second;
  return true;
}

bool parse_market_name(const std::string& name, int64_t& pid, int64_t& cam) {
  // The leftmost "_c<digit>" that follows a non-empty run of [-0-9], as re.search finds it.
  for (size_t i = 1; i + 2 < name.size(); ++i) {
    if (name[i] != '_' || name[i + 1] != 'c' ||
        !std::isdigit(static_cast<unsigned char>(name[i + 2])) || !is_pid_char(name[i - 1]))
      continue;
    size_t b = i;
    while (b > 0 && is_pid_char(name[b - 1])) --b;
    if (!parse_int(name.substr(b, i - b), pid)) return false;
    cam = name[i + 2] - '0';
    return true;
  }
  return false;
}

std::vector<ReidItem> parse_reid_list(const std::string& text, const std::string& what,
                                      const std::string& base, ListKind kind, BadInput& bad) {
  std::vector<ReidItem> items;
  std::istringstream in(text);
  std::string line;
  for (int64_t lineno = 1; std::getline(in, line); ++lineno) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::istringstream fields(line);
    std::vector<std::string> f;
    for (std::string s; fields >> s;) f.push_back(s);
    if (f.empty() || f[0][0] == '#') continue;
    const std::string where = str(what, ":", lineno, ": ");
    ReidItem it;
    it.camid = -1;
    if (kind == ListKind::Plain) {
      if (f.size() < 2 || f.size() > 3 || !parse_int(f[1], it.pid) ||
          (f.size() == 3 && !parse_int(f[2], it.camid)) || it.pid < -1 || it.camid < -1) {
        bad.report(str(where, "expected 'path pid [camid]' with integer ids, got '", line, "'"));
        continue;
      }
    } else {
      // `0000/0000_000_01_0303morning_0015_0.jpg 0`: camera = third '_' field - 1.
      std::vector<std::string> parts;
      std::istringstream name(base_name(f[0]));
      for (std::string p; std::getline(name, p, '_');) parts.push_back(p);
      int64_t cam = 0;
      if (f.size() != 2 || !parse_int(f[1], it.pid) || it.pid < -1 || parts.size() < 3 ||
          !parse_int(parts[2], cam) || cam < 1) {
        bad.report(str(where, "expected '<folder>/<pid>_<n>_<camera>_... pid', got '", line, "'"));
        continue;
      }
      it.camid = cam - 1;
    }
    if (it.pid == -1) continue;  // junk
    it.path = f[0][0] == '/' ? f[0] : join(base, f[0]);
    items.push_back(std::move(it));
  }
  return items;
}

std::vector<int64_t> relabel(std::vector<ReidItem>& train) {
  std::set<int64_t> ids;
  for (const auto& it : train) ids.insert(it.pid);
  std::vector<int64_t> raw(ids.begin(), ids.end());
  std::map<int64_t, int64_t> label;
  for (size_t i = 0; i < raw.size(); ++i) label[raw[i]] = static_cast<int64_t>(i);
  for (auto& it : train) it.pid = label[it.pid];
  return raw;
}

SplitStats split_stats(const std::vector<ReidItem>& items) {
  std::set<int64_t> ids, cams;
  for (const auto& it : items) {
    ids.insert(it.pid);
    if (it.camid >= 0) cams.insert(it.camid);
  }
  return {static_cast<int64_t>(items.size()), static_cast<int64_t>(ids.size()),
          static_cast<int64_t>(cams.size())};
}

ReidDataset load_reid(ReidFormat format, const std::string& root, BadInput& bad,
                      const ReidOptions& opts) {
  ReidDataset ds;
  switch (format) {
    case ReidFormat::Market1501:
      ds = load_market_style("market1501", root,
                             {"Market-1501-v15.09.15", "market1501/Market-1501-v15.09.15"}, bad);
      break;
    case ReidFormat::DukeMTMC:
      ds = load_market_style("dukemtmc", root, {"DukeMTMC-reID", "dukemtmc-reid/DukeMTMC-reID"},
                             bad);
      break;
    case ReidFormat::CUHK03Detected:
      ds = load_cuhk03(root, true, bad);
      break;
    case ReidFormat::CUHK03Labeled:
      ds = load_cuhk03(root, false, bad);
      break;
    case ReidFormat::MSMT17:
      ds = load_msmt17(root, opts, bad);
      break;
    case ReidFormat::List:
      ds = load_list(root, bad);
      break;
  }
  ds.train_raw_ids = relabel(ds.train);
  return ds;
}

}  // namespace ptl::data
