// The synthetic ReID dataset: a Market-1501 layout of JPEGs (bounding_box_train/,
// bounding_box_test/, query/; names like 0001_c2s1_000123_01.jpg) drawn by synth_render.
//
// Half the ids (1..ids/2) are training ids, the rest test ids. Each id walks past 2..C cameras
// (C = 6 in the source domain, 8 in the target domain) and is seen 2..5 times per camera in
// training; a test id gets one query per camera and 1..4 gallery images per camera. The gallery
// also holds junk (-1: bad detections of test ids) and distractors (0000: strangers and empty
// background), about 8% each. Identities depend on (seed, domain, id); cameras on the domain
// alone (the scene is fixed, the seed picks who walks by). The same options give the same bytes.
#pragma once
#include <cstdint>
#include <string>

namespace ptl::data {

enum class Domain { Source, Target };

struct SynthOptions {
  std::string out;  // created if missing; must not already hold a dataset
  int ids = 100;    // >= 4
  uint64_t seed = 0;
  Domain domain = Domain::Source;
  int height = 128, width = 64;  // Market-1501's size
  int quality = 90;              // JPEG quality
};

struct SynthSummary {
  int64_t train = 0, query = 0, gallery = 0;  // images written per folder (gallery with junk)
  int64_t junk = 0, distractors = 0;
  int cameras = 0;
};

SynthSummary write_synth_reid(const SynthOptions& opts);

}  // namespace ptl::data
