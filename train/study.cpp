#include "train/study.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/error.h"
#include "engine/atomic_file.h"
#include "engine/json.h"
#include "train/checkpoint.h"
#include "train/run_folder.h"
#include "train/trainer.h"

namespace ptl {

namespace fs = std::filesystem;

namespace {
std::string run_dir(const StudySpec& spec, uint64_t seed, const std::string& run) {
  return spec.out + "/seed_" + std::to_string(seed) + "/" + run;
}

Config run_config(const StudySpec& spec, const std::vector<std::string>& overrides, uint64_t seed,
                  const std::string& dir) {
  Config c = spec.base;
  for (const std::string& o : overrides) c.apply_override(o);
  c.set("seed", std::to_string(seed), "study");
  c.set("train.out", dir, "study");
  return c;
}

std::string result_json(const StudyRun& r) {
  return str("{\"reid\": ", r.reid ? "true" : "false", ", \"mAP\": ", exact_number(r.mAP),
             ", \"rank1\": ", exact_number(r.rank1), ", \"accuracy\": ", exact_number(r.accuracy),
             "}\n");
}

StudyRun read_result(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  const Json j = Json::parse(ss.str(), path);
  auto number = [&](const char* key) {
    const Json* v = j.find(key);
    PTL_CHECK(v && v->kind == Json::Kind::Number, path, ": no number '", key,
              "'; delete the file to run this arm again");
    return v->number;
  };
  const Json* reid = j.find("reid");
  PTL_CHECK(reid && reid->kind == Json::Kind::Bool, path, ": no 'reid' flag");
  return {reid->boolean, number("mAP"), number("rank1"), number("accuracy")};
}

// A finished or stopped run in `dir` is reused only if it was trained with `cfg` (the keys that
// change what is computed); otherwise the study stops, naming the folder and the keys.
void check_same_settings(const Config& cfg, const std::string& dir) {
  if (!fs::exists(dir + "/result.json") && list_checkpoints(dir).empty()) return;
  const std::string stored = dir + "/config.yaml";
  PTL_CHECK(
      fs::exists(stored), dir,
      " holds a run but no config.yaml to compare it with: delete the folder to run it again");
  const std::string diff = computing_differences(Config::from_file(stored), cfg, stored);
  PTL_CHECK(diff.empty(), "ptl study: the run in ", dir,
            " was trained with other settings than the study now asks for (", diff,
            "). Delete that folder to run it again with the new settings, or give the study "
            "another --out");
}

// Trains one run to its end (or resumes it); false when it was stopped.
bool train_run(const Config& cfg, const std::string& dir, StudyRun& out, const std::string& command,
               const std::function<void(Trainer&)>& on_trainer) {
  check_same_settings(cfg, dir);
  const std::string done = dir + "/result.json";
  if (fs::exists(done)) {
    std::printf("finished earlier: %s\n", done.c_str());
    out = read_result(done);
    return true;
  }
  RunStart start(holds_run(dir) ? "auto" : "");  // a stopped run continues
  start.resume_command = command;
  Trainer t(cfg, start);
  if (on_trainer) on_trainer(t);
  const TrainSummary s = t.run();
  if (s.interrupted) return false;
  out = {s.last.reid, s.last.mAP, s.last.rank1, s.last.accuracy};
  write_file_atomic(done, result_json(out));
  return true;
}
}  // namespace

std::vector<std::string> parse_overrides(const std::string& text) {
  std::vector<std::string> out;
  std::string item;
  int depth = 0;
  for (char ch : text + ",") {
    depth += ch == '[' ? 1 : ch == ']' ? -1 : 0;
    if (ch == ',' && depth == 0) {
      PTL_CHECK(item.find('=') != std::string::npos, "'", text, "': '", item, "' is not key=value");
      out.push_back(item);
      item.clear();
    } else {
      item += ch;
    }
  }
  return out;
}

StudyArm parse_arm(const std::string& text) {
  StudyArm arm;
  const size_t colon = text.find(':');
  arm.name = text.substr(0, colon);
  PTL_CHECK(!arm.name.empty() && arm.name.find_first_of("/ ") == std::string::npos, "--arm '", text,
            "': the name comes first, without spaces or slashes (NAME:key=value,...)");
  if (colon != std::string::npos) arm.overrides = parse_overrides(text.substr(colon + 1));
  return arm;
}

std::vector<uint64_t> parse_seeds(const std::string& text) {
  std::vector<uint64_t> seeds;
  try {
    const size_t dash = text.find('-');
    if (dash != std::string::npos) {
      const uint64_t a = std::stoull(text.substr(0, dash)), b = std::stoull(text.substr(dash + 1));
      PTL_CHECK(a <= b, "--seeds ", text, ": the first seed must not exceed the last");
      for (uint64_t s = a; s <= b; ++s) seeds.push_back(s);
    } else {
      std::stringstream ss(text);
      for (std::string s; std::getline(ss, s, ',');) seeds.push_back(std::stoull(s));
    }
  } catch (const std::logic_error&) {
    fail(str("--seeds '", text, "': use a range like 0-9 or a list like 0,3,7"));
  }
  PTL_CHECK(seeds.size() >= 2, "--seeds '", text,
            "': a paired study needs at least two seeds (the spread of one is unknown)");
  return seeds;
}

StudyResult run_study(const StudySpec& spec, const std::function<void(Trainer&)>& on_trainer) {
  PTL_CHECK(spec.arms.size() >= 1, "ptl study: give at least one --arm");
  for (size_t i = 0; i < spec.arms.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      PTL_CHECK(spec.arms[i].name != spec.arms[j].name, "ptl study: two arms are named '",
                spec.arms[i].name, "'");
  // Every arm's config is built (and so checked) before the first run starts.
  for (const StudyArm& arm : spec.arms) run_config(spec, arm.overrides, 0, spec.out);
  // A kill while study.json or study.png was written leaves its temporary beside it.
  if (const int stale = remove_stale_temporaries(spec.out))
    std::printf("removed %d unfinished temporary file(s) that a killed run left in %s\n", stale,
                spec.out.c_str());
  StudyResult r;
  r.runs.assign(spec.arms.size(), {});
  for (uint64_t seed : spec.seeds) {
    std::string pretrained;
    if (!spec.pretrain.empty()) {
      const std::string dir = run_dir(spec, seed, "pretrain");
      std::printf("\n== seed %llu: source stage -> %s ==\n", static_cast<unsigned long long>(seed),
                  dir.c_str());
      StudyRun ignored;
      if (!train_run(run_config(spec, spec.pretrain, seed, dir), dir, ignored, spec.command,
                     on_trainer)) {
        r.interrupted = true;
        return r;
      }
      pretrained = dir + "/best.safetensors";
    }
    for (size_t a = 0; a < spec.arms.size(); ++a) {
      const std::string dir = run_dir(spec, seed, spec.arms[a].name);
      std::printf("\n== seed %llu: arm %s -> %s ==\n", static_cast<unsigned long long>(seed),
                  spec.arms[a].name.c_str(), dir.c_str());
      Config cfg = run_config(spec, spec.arms[a].overrides, seed, dir);
      if (!pretrained.empty()) cfg.set("model.pretrained", pretrained, "study");
      StudyRun run;
      if (!train_run(cfg, dir, run, spec.command, on_trainer)) {
        r.interrupted = true;
        return r;
      }
      r.runs[a].push_back(run);
    }
  }
  return r;
}

}  // namespace ptl
