// `ptl synth-reid`: writes the synthetic Market-1501-layout ReID dataset (data/synth_reid.h).
#include <chrono>
#include <cstdio>

#include "base/error.h"
#include "cli/args.h"
#include "cli/command.h"
#include "data/synth_reid.h"

namespace {
int run(const std::vector<std::string>& argv) {
  ptl::cli::Args args(
      "usage: ptl synth-reid --out DIR [--ids N] [--seed S] [--domain source|target] [--size HxW]\n"
      "                      [--quality Q]\n"
      "  Writes a Market-1501-layout dataset of procedurally drawn pedestrians to DIR:\n"
      "  bounding_box_train/, bounding_box_test/ (with junk -1 and distractor 0000 images), "
      "query/.\n"
      "  --ids N       identities, half for training and half for testing (default 100)\n"
      "  --seed S      who walks by; the same options give the same files (default 0)\n"
      "  --domain D    source: 6 evenly lit cameras; target: 8 darker, tinted, blurrier,\n"
      "                more occluded cameras (default source)\n"
      "  --size HxW    image size (default 128x64, Market-1501's)\n"
      "  --quality Q   JPEG quality 1..100 (default 90)",
      {"out", "ids", "seed", "domain", "size", "quality"});
  if (!args.parse(argv)) return 0;
  ptl::data::SynthOptions o;
  o.out = args.require("out");
  o.ids = static_cast<int>(args.get_int("ids", 100));
  o.seed = static_cast<uint64_t>(args.get_int("seed", 0));
  const std::string domain = args.get("domain", "source");
  PTL_CHECK(domain == "source" || domain == "target", "--domain expects source or target, got '",
            domain, "'");
  o.domain = domain == "target" ? ptl::data::Domain::Target : ptl::data::Domain::Source;
  const std::string size = args.get("size", "128x64");
  int h = 0, w = 0;
  char tail = 0;
  PTL_CHECK(std::sscanf(size.c_str(), "%dx%d%c", &h, &w, &tail) == 2,
            "--size expects HxW (e.g. 128x64), got '", size, "'");
  o.height = h;
  o.width = w;
  o.quality = static_cast<int>(args.get_int("quality", 90));

  const auto t0 = std::chrono::steady_clock::now();
  const auto s = ptl::data::write_synth_reid(o);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("synth-reid (%s domain, %d cameras, seed %llu) -> %s\n", domain.c_str(), s.cameras,
              static_cast<unsigned long long>(o.seed), o.out.c_str());
  std::printf(
      "  bounding_box_train %6lld images\n  query              %6lld images\n"
      "  bounding_box_test  %6lld images (%lld junk, %lld distractors)\n  %.2f s\n",
      static_cast<long long>(s.train), static_cast<long long>(s.query),
      static_cast<long long>(s.gallery), static_cast<long long>(s.junk),
      static_cast<long long>(s.distractors), secs);
  return 0;
}
}  // namespace

PTL_COMMAND("synth-reid", "write a synthetic Market-1501-layout ReID dataset", run);
