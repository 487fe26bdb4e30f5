#include "debug_command_support.hpp"

#include <iostream>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "omni/error.hpp"
#include "omni/model_folder.hpp"

namespace flux_kontext::detail {

std::optional<cxxopts::ParseResult> parse_debug_arguments(cxxopts::Options& options,
                                                          const std::vector<std::string>& arguments,
                                                          const std::vector<std::string>& required) {
  std::vector<const char*> argv{options.program().c_str()};
  for (const std::string& argument : arguments) argv.push_back(argument.c_str());
  cxxopts::ParseResult parsed;
  try {
    parsed = options.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const cxxopts::exceptions::exception& error) {
    throw omni::Error(fmt::format("{}: {} (see --help)", options.program(), error.what()));
  }
  if (parsed.count("help")) {
    std::cout << options.help();
    return std::nullopt;
  }
  if (!parsed.unmatched().empty()) {
    throw omni::Error(fmt::format("{}: unexpected argument '{}' (see --help)", options.program(),
                                  parsed.unmatched().front()));
  }
  for (const std::string& name : required) {
    if (parsed.count(name) == 0) {
      throw omni::Error(fmt::format("{}: --{} is required (see --help)", options.program(), name));
    }
  }
  return parsed;
}

std::filesystem::path component_folder(const std::string& model, const std::string& component) {
  namespace fs = std::filesystem;
  const fs::path direct(model);
  if (fs::is_directory(direct) && !fs::exists(direct / "model_index.json") &&
      (fs::exists(direct / "config.json") || fs::exists(direct / "scheduler_config.json"))) {
    return direct;  // the component's own folder
  }
  return omni::ModelFolder::open(model).component(component);
}

at::Tensor case_tensor(const omni::SafetensorsFile& cases, const std::string& name) {
  if (!cases.contains(name)) {
    throw omni::Error(fmt::format("'{}' has no tensor '{}'", cases.path().string(), name));
  }
  return cases.tensor(name).to(at::kFloat).contiguous().clone();
}

}  // namespace flux_kontext::detail
