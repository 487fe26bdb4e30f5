#pragma once
// Running a user's command with a deadline: standard input from a string, standard output
// and error captured. POSIX only (fork/exec), like the rest of omnihost.
#include <chrono>
#include <string>
#include <vector>

namespace external_command_enhancer {

struct SubprocessResult {
  int exit_code = 0;     // the exit status, or 128 + signal when killed by one
  std::string stdout_text;
  std::string stderr_text;
};

// Runs `argv` (argv[0] is looked up in PATH) with `input` on its standard input. When it
// runs longer than `timeout`, its process group is killed and omni::Error says so; a
// command that cannot be started is an omni::Error naming it. A non-zero exit is returned,
// not thrown: the caller words that error.
SubprocessResult run_subprocess(const std::vector<std::string>& argv, const std::string& input,
                                std::chrono::milliseconds timeout);

}  // namespace external_command_enhancer
