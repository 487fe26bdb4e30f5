#pragma once
#include <string>
#include <vector>

namespace omni::host {

// Each returns the process exit code; errors are thrown and reported by main().
int run_command(const std::vector<std::string>& arguments);
int validate_command(const std::vector<std::string>& arguments);
int predict_command(const std::vector<std::string>& arguments);
int plugins_command(const std::vector<std::string>& arguments);
int tokenize_command(const std::vector<std::string>& arguments);  // debug tokenize

// Exit codes: 0 success, 1 a failure while working, 2 a bad command line or config,
// 130 stopped by SIGINT/SIGTERM after saving state.
constexpr int exit_failure = 1;
constexpr int exit_usage = 2;
constexpr int exit_interrupted = 130;

}  // namespace omni::host
