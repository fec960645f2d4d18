// Data pipeline speed, per worker thread: JPEG decode, PIL-exact resize 128x64 -> 256x128, flip,
// random erasing and normalisation, on Market-sized JPEGs. scripts/bench_data.sh runs this beside
// torchvision + PIL on the same files. Images: $PTL_BENCH_IMAGES (a folder of .jpg) or a
// synthetic Market-1501 set written to a temporary folder on first use.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "base/parallel.h"
#include "data/file_util.h"
#include "data/image_decode.h"
#include "data/loader.h"
#include "data/synth_reid.h"
#include "data/transform.h"

namespace {
using namespace ptl::data;

const std::vector<std::string>& files() {
  static const std::vector<std::string> list = [] {
    std::string dir;
    if (const char* env = std::getenv("PTL_BENCH_IMAGES")) {
      dir = env;
    } else {
      const std::string root = std::filesystem::temp_directory_path() / "ptl_bench_data_synth";
      dir = root + "/bounding_box_train";
      if (!is_dir(dir)) {
        SynthOptions o;
        o.out = root;
        o.ids = 200;
        write_synth_reid(o);
      }
    }
    return list_files(dir, {".jpg"});
  }();
  return list;
}

// Raw file bytes, read once, so the benchmarks measure decoding, not the disk.
const std::vector<std::string>& file_bytes() {
  static const std::vector<std::string> bytes = [] {
    std::vector<std::string> out;
    for (const auto& f : files()) out.push_back(read_file(f));
    return out;
  }();
  return bytes;
}

void BM_decode_jpeg(benchmark::State& state) {
  const auto& bytes = file_bytes();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(decode_image(bytes[i], "bench").px.data());
    i = (i + 1) % bytes.size();
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_resize_to_256x128(benchmark::State& state) {
  const Image img = decode_image(file_bytes()[0], "bench");
  const Interp m = state.range(0) ? Interp::Bicubic : Interp::Bilinear;
  for (auto _ : state) benchmark::DoNotOptimize(resize(img, 256, 128, m).px.data());
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(m == Interp::Bicubic ? "bicubic" : "bilinear");
}

// The whole per-image work of a training sample, one thread: read + decode + resize (bilinear)
// + flip (p 0.5) + normalise + erasing (p 0.5): what torchvision does per __getitem__.
void BM_pipeline_one_thread(benchmark::State& state) {
  const auto& paths = files();
  Transform t = Transform::eval(256, 128, Interp::Bilinear);
  t.flip_p = 0.5;
  t.erasing = Erasing::release();
  std::vector<float> out(3 * 256 * 128);
  size_t i = 0;
  for (auto _ : state) {
    ptl::Generator g(i);
    t.apply(load_image(paths[i % paths.size()]), g, out.data());
    benchmark::DoNotOptimize(out.data());
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}

// The threaded loader end to end (batches of 64), images per second in total; divide by the
// worker count for the per-worker rate.
void BM_loader(benchmark::State& state) {
  const int workers = static_cast<int>(state.range(0));
  std::vector<ReidItem> items;
  for (const auto& f : files()) items.push_back({f, 0, 0});
  auto src = make_source(items);
  Transform t = Transform::eval(256, 128, Interp::Bilinear);
  t.flip_p = 0.5;
  t.erasing = Erasing::release();
  int64_t images = 0;
  for (auto _ : state) {
    Loader loader(src, t, sequential_batches(src->size(), 64, false),
                  LoaderOptions{workers, 2 * workers, 0, nullptr, false, {}});
    Batch b;
    while (loader.next(b)) images += b.size();
  }
  state.SetItemsProcessed(images);
}
}  // namespace

BENCHMARK(BM_decode_jpeg);
BENCHMARK(BM_resize_to_256x128)->Arg(0)->Arg(1);
BENCHMARK(BM_pipeline_one_thread);
BENCHMARK(BM_loader)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
