#include "commands/debug_command_support.hpp"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "omni/error.hpp"
#include "omni/model_folder.hpp"

namespace flux_kontext::detail {

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
