// `ptl`: one binary, one subcommand per cli/*.cpp. Errors become one line and exit 1.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/parallel.h"
#include "cli/command.h"
#include "dist/communicator.h"
#include "engine/device.h"
#include "kernels/cpu/isa.h"

namespace ptl::cli {
std::map<std::string, Command>& registry() {
  static std::map<std::string, Command> r;
  return r;
}
}  // namespace ptl::cli

namespace {
void print_help() {
  std::printf(
      "ptl %s - progressive transfer learning engine (C++17%s)\n\n"
      "usage: ptl [--threads N] [--verbose] <command> [options]   (ptl <command> --help for "
      "details)\n"
      "  --verbose: errors list everything (all missing and unexpected weight names), not the "
      "first 5\n\n"
      "commands:\n",
      PTL_VERSION, ptl::cuda_compiled() ? ", CUDA" : ", CPU only");
  for (const auto& [name, cmd] : ptl::cli::registry())
    std::printf("  %-14s %s\n", name.c_str(), cmd.summary.c_str());
  std::printf("\nenvironment: PTL_NUM_THREADS sets the CPU thread count (default: all cores)\n");
}
}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    // --verbose is taken wherever it stands, before or after the command.
    const size_t before = args.size();
    args.erase(std::remove(args.begin(), args.end(), "--verbose"), args.end());
    ptl::verbose_errors() = args.size() != before;
    // Global options come before the command.
    while (!args.empty() && args[0] == "--threads") {
      PTL_CHECK(args.size() >= 2, "--threads needs a value");
      size_t used = 0;
      int n = 0;
      try {
        n = std::stoi(args[1], &used);
      } catch (const std::exception&) {
      }
      PTL_CHECK(used == args[1].size() && n > 0, "--threads expects a positive whole number, got '",
                args[1], "'");
      ptl::set_num_threads(n);
      args.erase(args.begin(), args.begin() + 2);
    }
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
      print_help();
      return args.empty() ? 2 : 0;
    }
    if (args[0] == "--version") {
      std::printf("ptl %s (%s)\nCPU path: %s\n", PTL_VERSION,
                  ptl::cuda_compiled() ? "CUDA" : "CPU only", ptl::cpu::isa_description().c_str());
      return 0;
    }
    ptl::cpu::current_isa();  // a bad PTL_CPU_ISA stops every command here, before any work
    auto& reg = ptl::cli::registry();
    auto it = reg.find(args[0]);
    if (it == reg.end()) {
      std::fprintf(stderr, "ptl: unknown command '%s' (ptl --help lists them)\n", args[0].c_str());
      return 2;
    }
    return it->second.run(std::vector<std::string>(args.begin() + 1, args.end()));
  } catch (const std::exception& e) {
    // One rank of a data-parallel job ends them all, naming itself, rather than leave the
    // others waiting for it in a collective.
    ptl::dist::abort_job_if_distributed(ptl::str("error: ", e.what()));
    std::fprintf(stderr, "ptl: error: %s\n", e.what());
    return 1;
  }
}
