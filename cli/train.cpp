// `ptl train`: trains from a YAML config with key=value overrides.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "base/text.h"
#include "cli/args.h"
#include "cli/command.h"
#include "cli/config_args.h"
#include "dist/communicator.h"
#include "dist/mpi_communicator.h"
#include "engine/atomic_file.h"
#include "pictures/curves.h"
#include "train/config.h"
#include "train/trainer.h"

namespace ptl::cli {

namespace {
std::string keys_help() {
  std::string s;
  for (const ConfigKey& k : config_keys())
    s += str("  ", k.key, " (default ", k.value, "): ", k.help, "\n");
  return s;
}

// `--nproc N`: starts this binary as N MPI processes with the rest of the arguments, as
// `mpirun -np N` would be typed: no core binding, the cores shared out as OpenMP threads,
// waiting threads that sleep (so N processes on few cores do not spin against each other),
// --oversubscribe only when N exceeds the cores and --allow-run-as-root only as root.
[[noreturn]] void launch(int64_t n, const std::vector<std::string>& rest) {
  PTL_CHECK(n >= 1, "--nproc expects a positive number of processes, got ", n);
  PTL_CHECK(dist::launcher_world_size() == 0,
            "--nproc inside an MPI job: start either `ptl train --nproc N` or `mpirun -np N ptl "
            "train`, not both");
  const int64_t cores = std::max<int64_t>(1, std::thread::hardware_concurrency());
  std::vector<std::string> cmd = {"mpirun", "-np", std::to_string(n), "--bind-to", "none"};
  if (n > cores) cmd.push_back("--oversubscribe");
  if (::geteuid() == 0) cmd.push_back("--allow-run-as-root");
  for (const std::string& env : {str("PTL_NUM_THREADS=", std::max<int64_t>(1, cores / n)),
                                 std::string("OMP_WAIT_POLICY=passive")})
    cmd.insert(cmd.end(), {"-x", env});
  char self[4096];
  const ssize_t len = ::readlink("/proc/self/exe", self, sizeof self - 1);
  PTL_CHECK(len > 0, "--nproc: cannot find this program's path (/proc/self/exe)");
  cmd.push_back(std::string(self, static_cast<size_t>(len)));
  cmd.push_back("train");
  cmd.insert(cmd.end(), rest.begin(), rest.end());
  std::string line;
  for (const std::string& w : cmd) line += (line.empty() ? "" : " ") + shell_quote(w);
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
  std::vector<char*> args;
  for (std::string& w : cmd) args.push_back(w.data());
  args.push_back(nullptr);
  ::execvp(args[0], args.data());
  fail(str("--nproc: cannot start mpirun (", std::strerror(errno),
           "); install Open MPI (scripts/install-deps.sh) or run mpirun yourself"));
}

// train.out/curves.png from the run's metrics.jsonl (what rank 0 wrote). A picture that cannot
// be drawn costs the run nothing: a warning, and the exit status of the training.
void draw_curves(const std::string& out) {
  try {
    write_training_curves(out + "/curves.png", {out}, {run_label(out)});
    std::printf("curves: %s/curves.png\n", out.c_str());
  } catch (const std::exception& e) {
    std::printf("warning: curves.png not drawn: %s\n", e.what());
  }
}

int train(const std::vector<std::string>& argv) {
  // --nproc N is the launcher's option, not the trainer's: take it out and start mpirun.
  for (size_t i = 0; i + 1 < argv.size(); ++i)
    if (argv[i] == "--nproc") {
      std::vector<std::string> rest(argv.begin(), argv.begin() + static_cast<long>(i));
      rest.insert(rest.end(), argv.begin() + static_cast<long>(i) + 2, argv.end());
      char* end = nullptr;
      const long long n = std::strtoll(argv[i + 1].c_str(), &end, 10);
      PTL_CHECK(end && *end == '\0' && !argv[i + 1].empty(),
                "--nproc expects a number of processes, got '", argv[i + 1], "'");
      launch(n, rest);
    }
  Args a(
      "usage: ptl train --config configs/X.yaml [--resume auto|CKPT] [--nproc N] [key=value ...]\n"
      "Trains as the config says; checkpoints, config.yaml, train.log and metrics.jsonl go to "
      "train.out.\n"
      "--resume auto continues from the newest checkpoint in train.out. Ctrl-C writes a checkpoint "
      "and exits.\n"
      "At the end, stopped or not, train.out/curves.png shows the loss and score per epoch.\n"
      "--nproc N trains data-parallel as N processes on this machine (it runs and prints the "
      "mpirun\ncommand; `mpirun -np N ptl train ...` is the same, and spans machines: "
      "docs/distributed.md).\n"
      "config keys:\n" +
          keys_help(),
      {"config", "resume"});
  if (!a.parse(argv)) return 0;
  const Config cfg = load_config(a);
  if (dist::world().rank() == 0) check_output_folder(cfg.str("train.out"), "train.out");
  Trainer t(cfg, a.get("resume"));
  // run() prints and logs the closing lines (done, or interrupted with the checkpoint to resume).
  const bool interrupted = t.run().interrupted;
  if (dist::world().rank() == 0) draw_curves(t.experiment().settings().train.out);
  return interrupted ? 130 : 0;
}

}  // namespace

PTL_COMMAND("train", "train a model from a YAML config (configs/)", train);

}  // namespace ptl::cli
