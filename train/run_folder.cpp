#include "train/run_folder.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/error.h"
#include "base/text.h"

namespace ptl {

namespace fs = std::filesystem;

namespace {
const char* const kOverwriteMarker = ".ptl-overwrite";
const char* const kHistoryPrefix = "# config change";

// The files a run writes besides its checkpoints (pictures and a study's result included).
const std::vector<std::string>& run_files() {
  static const std::vector<std::string> names = {
      "config.yaml", "metrics.jsonl", "train.log", "best.safetensors", "curves.png", "result.json"};
  return names;
}

bool is_run_file(const std::string& name) {
  // A killed writer's temporary (NAME.tmp.PID) of a run file belongs to the run too.
  const std::string base = name.substr(0, name.find(".tmp."));
  return std::find(run_files().begin(), run_files().end(), base) != run_files().end() ||
         (base.rfind("ckpt_e", 0) == 0 && base.size() > 12 &&
          base.substr(base.size() - 12) == ".safetensors");
}

void say(RunFolder& f, const std::string& line) {
  std::printf("%s\n", line.c_str());
  f.notes.push_back(line);
}

// Moves the earlier run's files into the marker folder, then deletes it (see the header).
void clear_run(const std::string& dir) {
  const fs::path trash = fs::path(dir) / kOverwriteMarker;
  fs::create_directories(trash);
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename() != kOverwriteMarker && is_run_file(e.path().filename().string()))
      fs::rename(e.path(), trash / e.path().filename());
  fs::remove_all(trash);
}

// The checkpoint a resume starts from, read whole: the one named, or under "auto" the newest
// intact one in train.out (a truncated newest falls back to the one before it, with a warning).
std::string pick_checkpoint(const std::string& resume, const std::string& out, RunFolder& f) {
  if (resume != "auto") {
    f.loaded = std::make_shared<Checkpoint>(load_checkpoint(resume));
    return resume;
  }
  const std::vector<std::string> all = list_checkpoints(out);
  std::string broken, why;
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    try {
      f.loaded = std::make_shared<Checkpoint>(load_checkpoint(*it));
    } catch (const Error& e) {
      if (broken.empty()) broken = *it, why = e.what();
      continue;
    }
    if (!broken.empty())
      say(f, str("warning: the newest checkpoint ", broken, " cannot be read (", why,
                 "); resuming from the one before it, ", *it));
    return *it;
  }
  PTL_CHECK(broken.empty(), "--resume auto: no checkpoint in ", out, " can be read (", why,
            "); start again with --overwrite");
  say(f, str("no checkpoint in ", out, ": starting fresh"));
  return "";
}

// Compares the checkpoint's config with the effective one: computing keys outside `allowed`
// are refused, naming each with both values; every difference gets a history line.
void compare_configs(const Config& cfg, const RunStart& start, RunFolder& f) {
  const Config before = Config::from_yaml(f.loaded->config_yaml, f.checkpoint + " (its config)");
  std::string refused, keys;
  std::vector<std::string> notes;  // said once the resume is known to go ahead
  for (const ConfigDifference& d : config_differences(before, cfg)) {
    const std::string change = str(d.key, ": ", d.before, " -> ", d.now);
    const bool allowed =
        std::find(start.allow_config_change.begin(), start.allow_config_change.end(), d.key) !=
        start.allow_config_change.end();
    if (changes_computation(d.key) && !allowed) {
      refused += str(refused.empty() ? "" : "; ", d.key, ": ", d.before, " in the checkpoint, ",
                     d.now, " now");
      keys += (keys.empty() ? "" : ",") + d.key;
      continue;
    }
    if (changes_computation(d.key)) f.changes.push_back(d);
    notes.push_back(str(changes_computation(d.key)
                            ? "config change accepted (--allow-config-change): "
                            : "config change (nothing computed changes): ",
                        change));
    f.history.push_back(str(kHistoryPrefix, " at epoch ", f.loaded->epoch, ", step ",
                            f.loaded->step, allowed ? " (--allow-config-change)" : "", ": ",
                            change));
  }
  PTL_CHECK(refused.empty(), "--resume: ", shell_quote(f.checkpoint),
            " was trained with another config: ", refused,
            ". Resume with the checkpoint's values (config.yaml in ",
            shell_quote(cfg.str("train.out")),
            "), train into another train.out, or accept the change on purpose with "
            "--allow-config-change ",
            keys);
  for (const std::string& line : notes) say(f, line);
}
}  // namespace

bool changes_computation(const std::string& key) {
  static const std::vector<std::string> neutral = {
      "threads",         "memory_limit_mb",  "data.workers",    "train.out",
      "train.epochs",    "train.eval_every", "train.log_every", "train.checkpoint_every",
      "train.keep_last", "dist.timeout_s",   "study.seeds",     "study.pretrain",
      "study.arms"};
  return std::find(neutral.begin(), neutral.end(), key) == neutral.end();
}

std::string computing_differences(const Config& before, const Config& now,
                                  const std::string& where) {
  std::string s;
  for (const ConfigDifference& d : config_differences(before, now))
    if (changes_computation(d.key))
      s += str(s.empty() ? "" : "; ", d.key, ": ", d.before, " in ", where, ", ", d.now, " now");
  return s;
}

bool holds_run(const std::string& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name == kOverwriteMarker || (is_run_file(name) && name.find(".tmp.") == std::string::npos))
      return true;
  }
  return false;
}

RunFolder prepare_run_folder(const Config& cfg, const RunStart& start, bool writer) {
  RunFolder f;
  if (!writer) return f;
  const std::string out = cfg.str("train.out");
  for (const std::string& key : start.allow_config_change)
    PTL_CHECK(std::any_of(config_keys().begin(), config_keys().end(),
                          [&](const ConfigKey& k) { return key == k.key; }),
              "--allow-config-change: '", key,
              "' is not a config key (ptl train --help lists them)");
  PTL_CHECK(!start.overwrite || start.resume.empty(),
            "--overwrite starts a new run and --resume continues one: give one of them");
  PTL_CHECK(!fs::exists(fs::path(out) / kOverwriteMarker) || start.overwrite, shell_quote(out),
            " holds the rest of an interrupted --overwrite (", kOverwriteMarker,
            "): run with --overwrite again to finish removing the earlier run");
  if (start.resume.empty()) {
    if (start.overwrite && holds_run(out)) {
      clear_run(out);
      say(f, str("--overwrite: removed the earlier run's files from ", out));
    }
    PTL_CHECK(!holds_run(out), "train.out ", shell_quote(out),
              " already holds a run (config.yaml, metrics.jsonl, train.log, best.safetensors or "
              "checkpoints): continue it with --resume auto, replace it with --overwrite (deletes "
              "its files), or set another train.out=DIR");
    return f;
  }
  f.checkpoint = pick_checkpoint(start.resume, out, f);
  if (f.checkpoint.empty()) {
    PTL_CHECK(!fs::exists(fs::path(out) / "best.safetensors"), shell_quote(out),
              " has best.safetensors but no checkpoint to resume from: replace the run with "
              "--overwrite, or set another train.out=DIR");
    return f;
  }
  compare_configs(cfg, start, f);
  return f;
}

std::string config_file_text(const std::string& dir, const Config& cfg,
                             const std::vector<std::string>& added) {
  std::string history;
  std::ifstream old(dir + "/config.yaml");
  for (std::string line; std::getline(old, line);)
    if (line.rfind(kHistoryPrefix, 0) == 0) history += line + "\n";
  for (const std::string& line : added) history += line + "\n";
  return history + cfg.to_yaml(true);
}

}  // namespace ptl
