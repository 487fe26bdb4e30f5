#pragma once
// cxxopts glue shared by the subcommands.
#include <string>
#include <vector>

// Repeated options (`--set`) keep commas: cxxopts would otherwise split
// `--set target_size=[32, 32]` into two values.
#define CXXOPTS_VECTOR_DELIMITER '\0'
#include <cxxopts.hpp>

#include "omni/error.hpp"

namespace omni::host {

// Parses `arguments` (without the program and subcommand words). Unknown options and
// malformed values become omni::UsageError with cxxopts' message.
cxxopts::ParseResult parse_arguments(cxxopts::Options& options,
                                     const std::vector<std::string>& arguments);

// Thrown for a bad command line; main() prints it with a hint to use --help.
class UsageError : public Error {
 public:
  using Error::Error;
};

}  // namespace omni::host
