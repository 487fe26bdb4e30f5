#pragma once
// Command-line parsing for the commands plugins add to omnihost (`omnihost debug ...`), with
// cxxopts (header-only; Debian's libcxxopts-dev). Only files that include this header need
// cxxopts: the rest of the SDK does not depend on it.
#include <iostream>
#include <optional>
#include <string>
#include <vector>

// A repeated option keeps the commas of its values (`--set key=[1, 2]`), as the host's do.
// Include this header before any other include of cxxopts.
#ifndef CXXOPTS_VECTOR_DELIMITER
#define CXXOPTS_VECTOR_DELIMITER '\0'
#endif
#include <cxxopts.hpp>
#include <fmt/format.h>

#include "omni/error.hpp"

namespace omni {

// Parses `arguments` (the words after the command's name) with `options`, whose program name
// is what errors name. Prints the help and returns nothing when --help is given (declare it:
// ("h,help", "show this help")). A malformed or unknown option, a stray argument and a
// missing `required` option each throw omni::Error naming the command.
inline std::optional<cxxopts::ParseResult> parse_command_options(
    cxxopts::Options& options, const std::vector<std::string>& arguments,
    const std::vector<std::string>& required = {}) {
  std::vector<const char*> argv{options.program().c_str()};
  for (const std::string& argument : arguments) argv.push_back(argument.c_str());
  cxxopts::ParseResult parsed;
  try {
    parsed = options.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const cxxopts::exceptions::exception& error) {
    throw Error(fmt::format("{}: {} (see --help)", options.program(), error.what()));
  }
  if (parsed.count("help")) {
    std::cout << options.help();
    return std::nullopt;
  }
  if (!parsed.unmatched().empty()) {
    throw Error(fmt::format("{}: unexpected argument '{}' (see --help)", options.program(),
                            parsed.unmatched().front()));
  }
  for (const std::string& name : required) {
    if (parsed.count(name) == 0) {
      throw Error(fmt::format("{}: --{} is required (see --help)", options.program(), name));
    }
  }
  return parsed;
}

}  // namespace omni
