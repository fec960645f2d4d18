#include "pictures/visrank.h"

#include <cstdio>
#include <filesystem>

#include "base/error.h"
#include "data/image_decode.h"
#include "engine/atomic_file.h"
#include "pictures/canvas.h"

namespace ptl {

namespace {
constexpr int kBorder = 5, kGap = 10, kQueryGap = 90, kLine = 22;  // pixels
const Rgb kGreen{0, 200, 0}, kRed{220, 0, 0}, kGrey{150, 150, 150}, kWhite{255, 255, 255},
    kBlack{0, 0, 0};

// Lines of text centred under the image at x: each at scale 2, or 1 when wider than the image.
void draw_labels(Canvas& cv, const std::vector<std::string>& lines, int x,
                 const VisrankOptions& opt) {
  for (size_t i = 0; i < lines.size(); ++i) {
    const int scale = Canvas::text_width(lines[i], 2) <= opt.cell_w ? 2 : 1;
    cv.text(x + opt.cell_w / 2 - Canvas::text_width(lines[i], scale) / 2,
            opt.cell_h + 5 + int(i) * kLine, lines[i], scale, kBlack);
  }
}

std::string id_line(const ReidIds& ids, int64_t i) {
  return "id " + std::to_string(ids.pids[i]);
}
std::string cam_line(const ReidIds& ids, int64_t i) {
  return "camid " + std::to_string(ids.camids[i]);
}

void draw_image(Canvas& cv, const std::string& path, int x, int y, const VisrankOptions& opt) {
  const data::Image im = data::load_image(path);
  cv.blit(im.px.data(), im.w, im.h, im.c, x, y, opt.cell_w, opt.cell_h);
}
}  // namespace

namespace {
// One image of a picture: its file, the lines under it and its border (none for the query).
struct Cell {
  std::string path;
  std::vector<std::string> labels;
  const Rgb* border = nullptr;
};

void check_options(const VisrankOptions& opt) {
  PTL_CHECK(opt.topk > 0, "visrank: --topk must be at least 1, got ", opt.topk);
  PTL_CHECK(opt.cell_w > 2 * kBorder && opt.cell_h > 2 * kBorder,
            "visrank: --width and --height must exceed ", 2 * kBorder,
            " pixels (the borders), got ", opt.cell_w, "x", opt.cell_h);
}

// The query's cell, a gap, then the ranked cells, saved as
// out_dir/<query index, 6 digits>_<query file stem>.png; returns the file.
std::string draw_ranking(int64_t q, const Cell& query, const std::vector<Cell>& ranked,
                         const std::string& out_dir, const VisrankOptions& opt) {
  const int W = opt.cell_w + kQueryGap + int(ranked.size()) * (opt.cell_w + kGap);
  Canvas cv(W, opt.cell_h + 3 * kLine + 5, kWhite);
  draw_image(cv, query.path, 0, 0, opt);
  draw_labels(cv, query.labels, 0, opt);
  for (size_t k = 0; k < ranked.size(); ++k) {
    const int x = opt.cell_w + kQueryGap + int(k) * (opt.cell_w + kGap);
    draw_image(cv, ranked[k].path, x, 0, opt);
    cv.frame(x, 0, opt.cell_w, opt.cell_h, kBorder, *ranked[k].border);
    draw_labels(cv, ranked[k].labels, x, opt);
  }
  char name[32];
  std::snprintf(name, sizeof name, "%06lld_", (long long)q);
  const std::string out = (std::filesystem::path(out_dir) /
                           (name + std::filesystem::path(query.path).stem().string() + ".png"))
                              .string();
  cv.save_png(out);
  return out;
}

// The file's name without its extension, cut from the left to fit a cell at text scale 1.
std::string name_line(const std::string& path, const VisrankOptions& opt) {
  std::string name = std::filesystem::path(path).stem().string();
  while (name.size() > 1 && Canvas::text_width(name, 1) > opt.cell_w) name.erase(0, 1);
  return name;
}

// The rank and the distance the ranking sorted by.
std::string rank_line(size_t k, float distance) {
  char rank[48];
  std::snprintf(rank, sizeof rank, "%zu: %.4g", k + 1, double(distance));
  return rank;
}
}  // namespace

std::vector<std::string> write_ranked_results(
    const DistanceSource& dist, const ReidIds& query, const ReidIds& gallery,
    const std::vector<std::string>& q_images, const std::vector<std::string>& g_images,
    const std::vector<int64_t>& queries, const std::string& out_dir, const VisrankOptions& opt) {
  const int64_t Q = dist.rows(), G = dist.cols();
  PTL_CHECK(int64_t(q_images.size()) == Q, "visrank: ", q_images.size(), " query image paths for ",
            Q, " queries");
  PTL_CHECK(int64_t(g_images.size()) == G, "visrank: ", g_images.size(),
            " gallery image paths for ", G, " gallery images");
  check_options(opt);
  create_output_folder(out_dir, "--out");
  std::vector<float> row(G);
  std::vector<std::string> written;
  for (int64_t q : queries) {
    PTL_CHECK(q >= 0 && q < Q, "visrank: query index ", q, " is outside [0, ", Q, ")");
    dist.fill_rows(q, q + 1, row.data());
    const std::vector<int64_t> top =
        top_ranked(row.data(), G, query.pids[q], query.camids[q], gallery, opt.topk);
    std::vector<Cell> ranked;
    for (size_t k = 0; k < top.size(); ++k)
      ranked.push_back(
          {g_images[top[k]],
           {rank_line(k, row[size_t(top[k])]), id_line(gallery, top[k]), cam_line(gallery, top[k])},
           gallery.pids[top[k]] == query.pids[q] ? &kGreen : &kRed});
    written.push_back(draw_ranking(
        q, {q_images[q], {"query", id_line(query, q), cam_line(query, q)}}, ranked, out_dir, opt));
  }
  return written;
}

std::string write_search_result(int64_t q, const std::string& q_image,
                                const std::vector<std::string>& g_images,
                                const std::vector<int64_t>& ranked, const std::vector<float>& row,
                                const std::string& out_dir, const VisrankOptions& opt) {
  check_options(opt);
  create_output_folder(out_dir, "--out");
  std::vector<Cell> cells;
  for (size_t k = 0; k < ranked.size(); ++k) {
    const int64_t g = ranked[k];
    cells.push_back({g_images.at(size_t(g)),
                     {rank_line(k, row.at(size_t(g))), name_line(g_images[size_t(g)], opt)},
                     &kGrey});
  }
  return draw_ranking(q, {q_image, {"query", name_line(q_image, opt)}}, cells, out_dir, opt);
}

}  // namespace ptl
