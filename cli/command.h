// The `ptl` subcommand registry. Each cli/<name>.cpp defines one subcommand and registers
// it with PTL_COMMAND; main.cpp dispatches on the first argument.
#pragma once
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace ptl::cli {

struct Command {
  std::string summary;                                      // one line for `ptl --help`
  std::function<int(const std::vector<std::string>&)> run;  // arguments after the name
};

std::map<std::string, Command>& registry();

struct Registrar {
  Registrar(const std::string& name, const std::string& summary,
            std::function<int(const std::vector<std::string>&)> run) {
    registry()[name] = Command{summary, std::move(run)};
  }
};

}  // namespace ptl::cli

#define PTL_CLI_CONCAT2(a, b) a##b
#define PTL_CLI_CONCAT(a, b) PTL_CLI_CONCAT2(a, b)
#define PTL_COMMAND(name, summary, fn) \
  static ::ptl::cli::Registrar PTL_CLI_CONCAT(ptl_cmd_, __LINE__)(name, summary, fn)
