// Pictures of ranked retrieval results, torchreid's visualize_ranked_results layout: per query,
// the query image, a gap, then its top-k gallery images (same-id-same-camera entries removed, as
// in evaluation), each with a green border for a match and red for a miss. Under the query: its
// person id and camera id; under each gallery image: its rank, its distance to the query, its
// person id and camera id (camera ids as the features store them: Market's c1 is camid 0).
#pragma once
#include <string>
#include <vector>

#include "evaluation/distance.h"
#include "evaluation/reid_metrics.h"

namespace ptl {

struct VisrankOptions {
  int topk = 10;
  int cell_w = 128, cell_h = 256;  // each image is resized to this (torchreid's defaults)
};

// For each index in `queries`, writes out_dir/<query index, 6 digits>_<query file stem>.png.
// q_images / g_images: image paths in the order of the rows / columns of `dist`. Returns the
// files written.
std::vector<std::string> write_ranked_results(const DistanceSource& dist, const ReidIds& query,
                                              const ReidIds& gallery,
                                              const std::vector<std::string>& q_images,
                                              const std::vector<std::string>& g_images,
                                              const std::vector<int64_t>& queries,
                                              const std::string& out_dir,
                                              const VisrankOptions& opt = {});

// One query of `ptl search` (no ids): the query image, then the gallery images `ranked` (indices
// into g_images, nearest first) with a grey border, each labelled with its rank, its distance
// (row: the query's distances to every gallery image) and its file name (the end that fits).
// Written as write_ranked_results names it (query index q); returns the file.
std::string write_search_result(int64_t q, const std::string& q_image,
                                const std::vector<std::string>& g_images,
                                const std::vector<int64_t>& ranked, const std::vector<float>& row,
                                const std::string& out_dir, const VisrankOptions& opt = {});

}  // namespace ptl
