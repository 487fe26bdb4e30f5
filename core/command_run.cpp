#include <iostream>

#include <fmt/format.h>

#include "command_line.hpp"
#include "commands.hpp"
#include "host_config.hpp"
#include "omni/trainer.hpp"
#include "stage_runner.hpp"

namespace omni::host {
namespace {

std::vector<Stage> stages_for(const std::string& mode) {
  if (mode == "cache") return {Stage::cache};
  if (mode == "fit") return {Stage::fit};
  if (mode == "predict") return {Stage::predict};
  if (mode == "all") return {Stage::cache, Stage::fit, Stage::predict};
  throw UsageError(fmt::format("run: unknown mode '{}'; expected cache, fit, predict or all", mode));
}

}  // namespace

int run_command(const std::vector<std::string>& arguments) {
  cxxopts::Options options("omnihost run", "Run a job described by a YAML config.");
  options.add_options()
      ("mode", "cache, fit, predict or all (default: the config's `mode`, else all)",
       cxxopts::value<std::string>())
      ("resume", "resume fit from a checkpoint folder, or `latest`",
       cxxopts::value<std::string>());
  add_config_command_options(options, /*with_threads=*/true);
  std::optional<ConfigCommand> command = parse_config_command(options, arguments, "run");
  if (!command) return 0;
  const cxxopts::ParseResult& parsed = command->parsed;
  // Check the mode before reading anything, so a typo fails fast.
  if (parsed.count("mode")) stages_for(parsed["mode"].as<std::string>());

  JobRequest request = command->request;
  Registry registry;
  PreparedJob job = prepare_job(request, registry);

  const std::string mode = parsed.count("mode") ? parsed["mode"].as<std::string>()
                                                : job.mode.value_or("all");
  const int threads = parsed.count("threads") ? parsed["threads"].as<int>() : job.threads;
  return run_stages(job, registry, stages_for(mode), threads,
                    parsed.count("resume") ? std::optional(parsed["resume"].as<std::string>())
                                           : job.resume);
}

}  // namespace omni::host
