#include "external_command_enhancer.hpp"

#include <filesystem>

#include <fmt/format.h>

#include "omni/error.hpp"
#include "omni/image_io.hpp"
#include "omni/temporary_folder.hpp"
#include "subprocess.hpp"

namespace external_command_enhancer {
namespace {

std::string tail(const std::string& text, std::size_t count) {
  return text.size() <= count ? text : "..." + text.substr(text.size() - count);
}

}  // namespace

ExternalCommandOptions parse_external_command_options(const omni::ConfigView& view) {
  ExternalCommandOptions options;
  options.command = view.get<std::vector<std::string>>("command");
  if (options.command.empty() || options.command.front().empty()) {
    view.fail("command", "expected the program and its arguments, e.g. [python3, my_vlm.py]");
  }
  options.timeout_seconds = view.get<double>("timeout_seconds", options.timeout_seconds);
  if (!(options.timeout_seconds > 0)) view.fail("timeout_seconds", "expected a number of seconds > 0");
  return options;
}

ExternalCommandEnhancer::ExternalCommandEnhancer(ExternalCommandOptions options)
    : options_(std::move(options)) {}

std::string ExternalCommandEnhancer::enhance(const omni::EnhanceRequest& request) {
  std::vector<std::string> argv = options_.command;
  // A folder for images given without a file.
  std::optional<omni::TemporaryFolder> scratch;
  for (std::size_t i = 0; i < request.images.size(); ++i) {
    if (i < request.image_paths.size() && !request.image_paths[i].empty()) {
      argv.push_back(request.image_paths[i].string());
      continue;
    }
    if (!scratch) scratch.emplace("omnihost-enhancer");
    const auto file = scratch->path() / fmt::format("image-{}.png", i + 1);
    omni::write_png(file, request.images[i]);
    argv.push_back(file.string());
  }
  const auto timeout = std::chrono::milliseconds(static_cast<long long>(options_.timeout_seconds * 1000));
  SubprocessResult result = run_subprocess(argv, request.instruction, timeout);
  if (result.exit_code != 0) {
    throw omni::Error(fmt::format("prompt enhancer external_command: '{}' exited with status {}; "
                                  "its standard error ends with:\n{}",
                                  options_.command.front(), result.exit_code,
                                  tail(result.stderr_text, 2000)));
  }
  if (result.stdout_text.find_first_not_of(" \t\r\n") == std::string::npos) {
    throw omni::Error(fmt::format("prompt enhancer external_command: '{}' printed no prompt on "
                                  "its standard output",
                                  options_.command.front()));
  }
  return result.stdout_text;
}

std::string ExternalCommandEnhancer::identity() const {
  std::string identity = "external_command";
  for (const std::string& word : options_.command) {
    identity += "|" + word;
    std::error_code error;
    if (std::filesystem::is_regular_file(word, error)) {
      const auto size = std::filesystem::file_size(word, error);
      const auto time = std::filesystem::last_write_time(word, error).time_since_epoch().count();
      identity += fmt::format("({}:{})", size, time);
    }
  }
  return identity;
}

}  // namespace external_command_enhancer
