// Person-ReID datasets in the layouts users already have (see docs/data.md and the conventions of
// torchreid / fast-reid / reid-strong-baseline):
//   Market-1501, DukeMTMC-reID   bounding_box_train/, bounding_box_test/ (gallery), query/
//   CUHK03 (new protocol)        a Market-style triple under detected/ or labeled/ (CUHK03-NP),
//                                or torchreid's images_{detected,labeled}/ + splits_new_*.json
//   MSMT17 V1 / V2               train/ test/ (V2: mask_train_v2/ mask_test_v2/) + list_*.txt
//   list                         train.txt, query.txt, gallery.txt: `path pid [camid]` per line
// Rules: person id -1 (junk) is dropped everywhere; in Market-style file names id 0 is a
// distractor, kept in the gallery only (MSMT17, list files and torchreid's CUHK03 json use 0 as an
// ordinary id); training ids are relabelled to 0..K-1 in sorted order; query and gallery keep
// raw ids. Cameras are 0-based.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/bad_input.h"

namespace ptl::data {

struct ReidItem {
  std::string path;
  int64_t pid = 0;    // training split: the relabelled id; query/gallery: the raw id
  int64_t camid = 0;  // 0-based; -1 when a list file gives none
};

struct ReidDataset {
  std::string name;  // e.g. "market1501"
  std::string root;  // the folder the splits were found in
  std::vector<ReidItem> train, query, gallery;
  std::vector<int64_t> train_raw_ids;  // training label -> raw person id
};

enum class ReidFormat { Market1501, DukeMTMC, CUHK03Detected, CUHK03Labeled, MSMT17, List };

// "market1501", "dukemtmc", "cuhk03-detected", "cuhk03-labeled", "msmt17", "list"; false if
// `name` is none of them.
bool parse_reid_format(const std::string& name, ReidFormat& out);

struct ReidOptions {
  // MSMT17's training split: list_train alone (30,248 images; torchreid's and fast-reid's
  // default), or with list_val added (32,621; a missing list_val.txt is then an error).
  bool msmt17_train_val = false;
};

// Lists a dataset (no image is decoded). Structural problems (missing folder, empty split,
// unreadable list file) throw ptl::Error naming the path; per-item problems (a file name or
// list line that does not parse) go to `bad`.
ReidDataset load_reid(ReidFormat format, const std::string& root, BadInput& bad,
                      const ReidOptions& opts = {});

// `([-\d]+)_c(\d)` searched in a Market-style file name: false when it does not match.
// `cam` is the 1-based digit.
bool parse_market_name(const std::string& name, int64_t& pid, int64_t& cam);

// A list file's lines. kind Plain: `path pid [camid]` (camid 0-based, default -1); kind MSMT17:
// `relpath pid`, camera = third '_' field of the file name - 1. Paths are joined to `base`
// unless absolute. Blank lines and lines starting with '#' are skipped; a bad line goes to
// `bad` as "<what>:<line>: ...". Junk (-1) lines are dropped.
enum class ListKind { Plain, MSMT17 };
std::vector<ReidItem> parse_reid_list(const std::string& text, const std::string& what,
                                      const std::string& base, ListKind kind, BadInput& bad);

// Relabels training ids in place to 0..K-1 (sorted raw ids); returns label -> raw id.
std::vector<int64_t> relabel(std::vector<ReidItem>& train);

struct SplitStats {
  int64_t images = 0, ids = 0, cameras = 0;
};
SplitStats split_stats(const std::vector<ReidItem>& items);

}  // namespace ptl::data
