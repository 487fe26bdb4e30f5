#include "command_line.hpp"

#include <fmt/format.h>

namespace omni::host {

cxxopts::ParseResult parse_arguments(cxxopts::Options& options,
                                     const std::vector<std::string>& arguments) {
  std::vector<const char*> argv{options.program().c_str()};
  for (const std::string& argument : arguments) argv.push_back(argument.c_str());
  try {
    return options.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const cxxopts::exceptions::exception& error) {
    throw UsageError(fmt::format("{}: {}", options.program(), error.what()));
  }
}

}  // namespace omni::host
