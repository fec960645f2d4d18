#include "data/synth_reid.h"

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <vector>

#include "base/error.h"
#include "base/parallel.h"
#include "data/file_util.h"
#include "data/image_encode.h"
#include "data/seed.h"
#include "data/synth_render.h"
#include "engine/atomic_file.h"

namespace ptl::data {

namespace {
// One image to draw: who, where, what kind of shot, and its file.
struct Job {
  int64_t pid;     // -1 junk, 0 distractor, else the person
  int64_t person;  // whose appearance (strangers get ids past the dataset's)
  int cam;         // 0-based
  Shot shot;
  std::string path;
};

constexpr uint64_t kDomainTag[2] = {0x5A17, 0x7A26};

// Market-1501's file name: pid (4 digits, or -1), camera, sequence, frame, box number.
std::string market_name(int64_t pid, int cam, int seq, int64_t frame, int box) {
  char buf[64];
  if (pid < 0)
    std::snprintf(buf, sizeof buf, "-1_c%ds%d_%06lld_%02d.jpg", cam + 1, seq,
                  static_cast<long long>(frame), box);
  else
    std::snprintf(buf, sizeof buf, "%04lld_c%ds%d_%06lld_%02d.jpg", static_cast<long long>(pid),
                  cam + 1, seq, static_cast<long long>(frame), box);
  return buf;
}
}  // namespace

SynthSummary write_synth_reid(const SynthOptions& o) {
  PTL_CHECK(o.ids >= 4 && o.ids <= 9999, "synth-reid: --ids must be in 4..9999, got ", o.ids);
  PTL_CHECK(o.height >= 16 && o.width >= 8 && o.height <= 2048 && o.width <= 2048,
            "synth-reid: --size must be between 16x8 and 2048x2048, got ", o.height, "x", o.width);
  create_output_folder(o.out, "--out");
  const char* folders[] = {"bounding_box_train", "query", "bounding_box_test"};
  for (const char* f : folders) {
    const std::string dir = join(o.out, f);
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    PTL_CHECK(!ec, dir, ": cannot create folder (", ec.message(), ")");
    PTL_CHECK(std::filesystem::is_empty(dir, ec), dir,
              ": not empty; write the dataset to a new folder");
  }

  const bool target = o.domain == Domain::Target;
  const uint64_t base = mix_seed(o.seed, kDomainTag[target]);
  const int ncam = target ? 8 : 6;
  std::vector<Camera> cams;
  for (int c = 0; c < ncam; ++c) cams.push_back(Camera::make(target, c));

  // The layout, drawn sequentially from one generator; frames count up per camera.
  Generator g(mix_seed(base, 0xF1A9));
  std::vector<int64_t> frame(ncam, 0);
  std::vector<Job> jobs;
  SynthSummary sum;
  sum.cameras = ncam;
  auto add = [&](int64_t pid, int64_t person, int cam, Shot shot, int folder) {
    frame[cam] += 1 + g.randint(40);
    const int seq = 1 + static_cast<int>(g.randint(6)), box = 1 + static_cast<int>(g.randint(3));
    jobs.push_back(
        {pid, person, cam, shot,
         join(join(o.out, folders[folder]), market_name(pid, cam, seq, frame[cam], box))});
    (folder == 0 ? sum.train : folder == 1 ? sum.query : sum.gallery)++;
  };
  const int64_t n_train = o.ids / 2;
  for (int64_t pid = 1; pid <= o.ids; ++pid) {
    const bool train = pid <= n_train;
    const auto order = g.permutation(ncam);
    const int64_t seen = 2 + g.randint(ncam - 1);  // 2..ncam cameras
    for (int64_t k = 0; k < seen; ++k) {
      const int cam = static_cast<int>(order[k]);
      if (train) {
        for (int64_t i = 0, n = 2 + g.randint(4); i < n; ++i) add(pid, pid, cam, Shot::Person, 0);
      } else {
        add(pid, pid, cam, Shot::Person, 1);
        for (int64_t i = 0, n = 1 + g.randint(4); i < n; ++i) add(pid, pid, cam, Shot::Person, 2);
      }
    }
  }
  const int64_t extra = std::max<int64_t>(1, sum.gallery * 8 / 100);
  for (int64_t i = 0; i < extra; ++i) {
    const int64_t victim =
        n_train + 1 + g.randint(o.ids - n_train);  // junk: a bad box of a test id
    add(-1, victim, static_cast<int>(g.randint(ncam)), Shot::Junk, 2);
    // Distractors: half strangers (ids past the dataset's), half empty background.
    add(0, o.ids + 1 + i, static_cast<int>(g.randint(ncam)), i % 2 ? Shot::Clutter : Shot::Person,
        2);
  }
  sum.junk = sum.distractors = extra;

  // Render and write in parallel: image j's randomness depends only on (seed, domain, j).
  std::atomic<bool> failed{false};
  std::string error;
  std::mutex error_mu;
  parallel_for(static_cast<int64_t>(jobs.size()), 16, [&](int64_t b, int64_t e) {
    for (int64_t j = b; j < e && !failed; ++j) {
      try {
        const Job& job = jobs[j];
        Generator who(mix_seed(base, static_cast<uint64_t>(job.person)));
        const Person person = Person::random(who);
        Generator shot(mix_seed(mix_seed(base, 0x5407), static_cast<uint64_t>(j)));
        const Image img = render_shot(person, cams[job.cam], job.shot, o.height, o.width, shot);
        write_jpeg(job.path, img.w, img.h, 3, img.px.data(), o.quality);
      } catch (const std::exception& ex) {
        std::lock_guard<std::mutex> lock(error_mu);
        if (!failed.exchange(true)) error = ex.what();
      }
    }
  });
  PTL_CHECK(!failed, "synth-reid: ", error);
  return sum;
}

}  // namespace ptl::data
