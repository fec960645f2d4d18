// `ptl train`: trains from a YAML config with key=value overrides.
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

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

volatile std::sig_atomic_t g_stop_signals = 0;  // SIGINT/SIGTERM received by the launcher
extern "C" void count_stop_signal(int) {
  g_stop_signals = g_stop_signals + 1;
}

// Runs `cmd` (mpirun) in a process group of its own and waits for it. Ctrl-C at a terminal then
// reaches this process alone, and a stop becomes the ranks' agreed stop: the first SIGINT or
// SIGTERM is passed to mpirun as SIGUSR1, which mpirun forwards to every rank, whose trainer
// stops after the same step with rank 0 writing the checkpoint (exit 130); a second one aborts
// the job (SIGTERM to mpirun). Returns the job's exit code (128 + N for a signal N).
int run_job(std::vector<std::string> cmd) {
  std::vector<char*> args;
  for (std::string& w : cmd) args.push_back(w.data());
  args.push_back(nullptr);
  struct sigaction sa = {};
  sa.sa_handler = count_stop_signal;
  ::sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  const pid_t job = ::fork();
  PTL_CHECK(job >= 0, "--nproc: cannot start mpirun (", std::strerror(errno), ")");
  if (job == 0) {
    ::setpgid(0, 0);
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    ::execvp(args[0], args.data());
    std::fprintf(stderr,
                 "ptl: error: --nproc: cannot start mpirun (%s); install Open MPI "
                 "(scripts/install-deps.sh) or run mpirun yourself\n",
                 std::strerror(errno));
    ::_exit(127);
  }
  ::setpgid(job, job);  // also here: no signal may reach mpirun's group before it exists
  int status = 0, passed = 0;
  while (::waitpid(job, &status, 0) != job) {
    PTL_CHECK(errno == EINTR, "--nproc: waiting for mpirun failed (", std::strerror(errno), ")");
    for (; passed < g_stop_signals; ++passed) {
      ::kill(job, passed == 0 ? SIGUSR1 : SIGTERM);
      std::printf(passed == 0 ? "stop requested: every rank stops after its current step and rank "
                                "0 writes a checkpoint (a second Ctrl-C aborts the job)\n"
                              : "aborting the job\n");
      std::fflush(stdout);
    }
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// `--nproc N`: starts this binary as N MPI processes with the rest of the arguments, as
// `mpirun -np N` would be typed: no core binding, the cores shared out as OpenMP threads,
// waiting threads that sleep (so N processes on few cores do not spin against each other),
// --oversubscribe only when N exceeds the cores and --allow-run-as-root only as root. Returns
// the job's exit code: 130 when a stop was requested and the ranks stopped with a checkpoint.
int launch(int64_t n, const std::vector<std::string>& rest, const std::string& resume) {
  PTL_CHECK(n >= 1, "--nproc expects a positive number of processes, got ", n);
  PTL_CHECK(dist::launcher_world_size() == 0,
            "--nproc inside an MPI job: start either `ptl train --nproc N` or `mpirun -np N ptl "
            "train`, not both");
  const int64_t cores = std::max<int64_t>(1, std::thread::hardware_concurrency());
  // --stdin none: mpirun runs in a background process group, where reading the terminal stops it.
  std::vector<std::string> cmd = {"mpirun",  "-np", std::to_string(n), "--bind-to", "none",
                                  "--stdin", "none"};
  if (n > cores) cmd.push_back("--oversubscribe");
  if (::geteuid() == 0) cmd.push_back("--allow-run-as-root");
  for (const std::string& env : {str("PTL_NUM_THREADS=", std::max<int64_t>(1, cores / n)),
                                 std::string("OMP_WAIT_POLICY=passive")})
    cmd.insert(cmd.end(), {"-x", env});
  if (::isatty(STDOUT_FILENO)) cmd.insert(cmd.end(), {"-x", "PTL_PROGRESS_IN_PLACE=1"});
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
  const int rc = run_job(cmd);
  if (rc == 130) std::printf("interrupted; resume with: %s\n", resume.c_str());
  return rc;
}

// The command that continues a run started with `argv`: the same arguments with --resume auto
// in place of --resume X or --overwrite, each quoted as a shell needs.
std::string resume_command(const std::vector<std::string>& argv) {
  std::string cmd = "ptl train";
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& w = argv[i];
    if (w == "--overwrite" || w.rfind("--resume=", 0) == 0) continue;
    if (w == "--resume") {
      ++i;
      continue;
    }
    cmd += " " + shell_quote(w);
  }
  return cmd + " --resume auto";
}

// "a,b,c" -> {a, b, c}; empty entries dropped.
std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::string item;
  for (char c : text + ",")
    if (c != ',') {
      item += c;
    } else if (!item.empty()) {
      out.push_back(item);
      item.clear();
    }
  return out;
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
      return launch(n, rest, resume_command(argv));
    }
  Args a(
      "usage: ptl train --config configs/X.yaml [--resume auto|CKPT | --overwrite] "
      "[--allow-config-change KEY,...] [--nproc N] [--precision float32|bf16] [key=value ...]\n"
      "Trains as the config says; checkpoints, config.yaml, train.log and metrics.jsonl go to "
      "train.out.\n"
      "A train.out that holds a run is refused unless --resume auto (the newest checkpoint there) "
      "or a\ncheckpoint continues it, or --overwrite deletes its files first. A resume refuses a "
      "changed key that\nchanges what is computed unless --allow-config-change names it (recorded "
      "in config.yaml, train.log\nand metrics.jsonl). Ctrl-C writes a checkpoint and exits with "
      "130.\n"
      "At the end, stopped or not, train.out/curves.png shows the loss and score per epoch.\n"
      "--nproc N trains data-parallel as N processes on this machine (it runs and prints the "
      "mpirun\ncommand; `mpirun -np N ptl train ...` is the same, and spans machines: "
      "docs/distributed.md).\n"
      "config keys:\n" +
          keys_help(),
      {"config", "resume", "allow-config-change", "precision"}, {"overwrite"});
  if (!a.parse(argv)) return 0;
  RunStart start(a.get("resume"));
  start.overwrite = a.flag("overwrite");
  for (const std::string& key : split_list(a.get("allow-config-change")))
    start.allow_config_change.push_back(key);
  start.resume_command = resume_command(argv);
  const Config cfg = load_config(a);
  if (dist::world().rank() == 0) check_output_folder(cfg.str("train.out"), "train.out");
  Trainer t(cfg, start);
  // run() prints and logs the closing lines (done, or interrupted with the command to resume).
  const bool interrupted = t.run().interrupted;
  if (dist::world().rank() == 0) draw_curves(t.experiment().settings().train.out);
  return interrupted ? 130 : 0;
}

}  // namespace

PTL_COMMAND("train", "train a model from a YAML config (configs/)", train);

}  // namespace ptl::cli
