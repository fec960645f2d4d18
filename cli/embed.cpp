// `ptl embed`: one retrieval feature per image of a folder or a list file, exactly as `ptl
// extract` computes them, for `ptl search` or a program of one's own (docs/deploy.md).
#include <cstdio>
#include <filesystem>

#include "base/text.h"
#include "cli/args.h"
#include "cli/command.h"
#include "cli/config_args.h"
#include "cli/embedding.h"
#include "cli/progress.h"
#include "data/image_files.h"
#include "engine/atomic_file.h"
#include "engine/safetensors.h"
#include "evaluation/reid_eval.h"

namespace ptl::cli {

namespace {
const char* kUsage =
    "usage: ptl embed --config C.yaml --weights W --images DIR|LIST --out F.safetensors\n"
    "                 [--batch N] [--flip] [key=value ...]\n"
    "Writes one feature per image, as `ptl extract` computes them for retrieval: resized to the\n"
    "config's data.height x data.width, normalised, the model's feature, L2-normalised; --flip\n"
    "averages it with the mirrored image's first (extract's eval.flip=true; embed does not read\n"
    "eval.flip). data.root is not read.\n"
    "DIR: every .jpg .jpeg .png .bmp file under it, at any depth, in byte order of the paths.\n"
    "LIST: a file with one image path per line, in its order; relative paths are relative to\n"
    "the list's folder; blank lines and lines starting with # are skipped.\n"
    "F: tensor `features` (N, D) float32; metadata `paths` (JSON array: row i's image), "
    "`skipped`,\n"
    "`skipped_paths`, `model`, `weights`, `config`, `config_yaml`, `flip`, `images`.\n"
    "An unreadable image stops with an error unless data.on_bad_image=skip (then it has no row "
    "and\n"
    "is counted). --batch: images per forward (default data.batch_size). W: best.safetensors or "
    "any\n"
    "checkpoint.";

int embed(const std::vector<std::string>& argv) {
  Args a(kUsage, {"config", "weights", "images", "out", "batch"}, {"flip"});
  if (!a.parse(argv)) return 0;
  const std::string out = a.require("out"), images = a.require("images");
  std::string out_dir = std::filesystem::path(out).parent_path().string();
  if (out_dir.empty()) out_dir = ".";
  check_output_folder(out_dir, "--out");  // before the long part; made once it is done
  const std::vector<std::string> paths = data::image_files(images);
  Experiment e = trained_experiment(a, false);
  const int64_t batch = a.get_int("batch", e.settings().data.batch_size);
  PTL_CHECK(batch >= 1, "--batch must be at least 1, got ", batch);
  const bool flip = a.flag("flip");
  ImageProgress progress("embed");
  const Embedding r = embed_images(e, paths, batch, flip, e.data().bad, std::ref(progress));
  const double seconds = progress.finish();
  if (!r.skipped.empty()) {
    std::string why = r.skipped.front();
    for (const std::string& m : e.data().bad->messages())
      if (m.rfind(r.skipped.front() + ":", 0) == 0) why = m;
    std::printf("data.on_bad_image=skip: skipped %s, the first: %s\n",
                count_of(static_cast<int64_t>(r.skipped.size()), "unreadable image").c_str(),
                why.c_str());
  }
  create_output_folder(out_dir, "--out");
  save_safetensors(out, {{"features", r.features}},
                   {{"paths", path_list_json(r.paths)},
                    {"skipped", std::to_string(r.skipped.size())},
                    {"skipped_paths", path_list_json(r.skipped)},
                    {"model", e.settings().model.name},
                    {"weights", a.require("weights")},
                    {"config", a.get("config")},
                    {"config_yaml", e.config().to_yaml()},
                    {"flip", flip ? "true" : "false"},
                    {"images", images}});
  std::printf("wrote %s: %lld features of dimension %lld (%s in %.1f s, %.1f images/s)\n",
              out.c_str(), static_cast<long long>(r.features.size(0)),
              static_cast<long long>(r.features.size(1)),
              count_of(static_cast<int64_t>(paths.size()), "image").c_str(), seconds,
              static_cast<double>(paths.size()) / seconds);
  return 0;
}
}  // namespace

PTL_COMMAND("embed", "write one feature per image of a folder or list file, for `ptl search`",
            embed);

}  // namespace ptl::cli
