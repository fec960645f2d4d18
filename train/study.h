// A paired multi-seed study (`ptl study`): for each seed, one shared pre-training when the study
// has a source stage, then every arm from the same starting weights and seed, each arm a set of
// config overrides of one base config (plain vs PTL carry vs PTL reset, a state init, a side
// learning rate...). Every run is its own folder:
//   OUT/seed_<s>/pretrain/    the source stage (when `pretrain` overrides are given)
//   OUT/seed_<s>/<arm>/       an arm's run; result.json once it has finished
// Running the study again skips finished runs and resumes an interrupted one from its newest
// checkpoint (the trainer's exact resume), so a stopped study continues where it was and ends
// with the bits of an uninterrupted one. A finished or stopped run is reused only when the
// config it was trained with equals the one the study would run now (keys that change what is
// computed); otherwise the study stops naming the run's folder and the keys. A run's score is
// its last evaluation, after its final epoch (the best one would select on the test split).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "train/config.h"

namespace ptl {

class Trainer;

struct StudyArm {
  std::string name;
  std::vector<std::string> overrides;  // key=value
};

struct StudySpec {
  Config base;
  std::vector<std::string> pretrain;  // key=value of the source stage; empty: no source stage
  std::vector<StudyArm> arms;         // the first is the reference of the paired comparisons
  std::vector<uint64_t> seeds;
  std::string out;
  std::string command;  // the command that runs this study (printed as the way to continue it)
};

// One finished run's scores (percent).
struct StudyRun {
  bool reid = true;
  double mAP = 0, rank1 = 0, accuracy = 0;
};

struct StudyResult {
  bool interrupted = false;  // a run was stopped (SIGINT/SIGTERM); run the study again
  std::vector<std::vector<StudyRun>> runs;  // [arm][seed]; complete unless interrupted
};

// "key=value,key=value": commas inside [...] belong to the value ("schedule.milestones=[3, 5]").
std::vector<std::string> parse_overrides(const std::string& text);
// "NAME:key=value,..." (parse_overrides); a bare NAME is an arm of the base config alone.
StudyArm parse_arm(const std::string& text);
// "0-9", "3" or "0,2,5".
std::vector<uint64_t> parse_seeds(const std::string& text);

// Runs what is not finished yet. `on_trainer` sees each trainer before it runs (tests stop one).
StudyResult run_study(const StudySpec& spec,
                      const std::function<void(Trainer&)>& on_trainer = nullptr);

}  // namespace ptl
