#include "omni/model_folder.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "json_file.hpp"
#include "omni/error.hpp"

namespace omni {
namespace {

namespace fs = std::filesystem;

// diffusers names a component's settings by what it is; the first one present is its config.
constexpr const char* kConfigNames[] = {"config.json", "scheduler_config.json",
                                        "tokenizer_config.json", "preprocessor_config.json"};

bool inside(const std::string& relative) {
  const fs::path path(relative);
  return !path.is_absolute() &&
         std::none_of(path.begin(), path.end(), [](const fs::path& part) { return part == ".."; });
}

}  // namespace

ModelFolder ModelFolder::open(const std::string& name_or_path, const std::string& revision,
                              const std::string& subfolder) {
  ModelFolder folder;
  std::error_code error;
  if (fs::is_directory(name_or_path, error)) {
    folder.root_ = name_or_path;
    folder.description_ = fmt::format("model folder '{}'", name_or_path);
  } else if (fs::exists(name_or_path, error)) {
    throw Error(fmt::format("model '{}' is a file, not a diffusers folder", name_or_path));
  } else if (looks_like_repo_id(name_or_path)) {
    const std::string wanted = revision.empty() ? "main" : revision;
    folder.root_ = resolve_hf_snapshot(name_or_path, wanted);
    folder.description_ = fmt::format("model '{}' (revision {}, cached at '{}')", name_or_path,
                                      wanted, folder.root_.string());
  } else {
    throw Error(fmt::format("model folder '{}' does not exist (nor is it a Hugging Face repo "
                            "id of the form org/name)",
                            name_or_path));
  }
  if (!subfolder.empty()) {
    if (!inside(subfolder) || !fs::is_directory(folder.root_ / subfolder, error)) {
      throw Error(fmt::format("{} has no subfolder '{}'", folder.description_, subfolder));
    }
    folder.root_ /= subfolder;
    folder.description_ += fmt::format(", subfolder '{}'", subfolder);
  }
  if (fs::is_regular_file(folder.root_ / "model_index.json", error)) {
    folder.has_model_index_ = true;
    const nlohmann::json index = folder.model_index();
    for (const auto& item : index.items()) {
      // Entries such as "_class_name" are settings; [null, null] marks an absent component.
      const nlohmann::json& value = item.value();
      if (value.is_array() && value.size() == 2 && value[0].is_string()) {
        folder.components_.push_back(item.key());
      }
    }
  } else if (!fs::is_regular_file(folder.root_ / "config.json", error)) {
    throw Error(fmt::format("{} is not a diffusers folder: '{}' holds neither model_index.json "
                            "nor config.json",
                            folder.description_, folder.root_.string()));
  }
  return folder;
}

bool ModelFolder::has_component(const std::string& name) const {
  return std::find(components_.begin(), components_.end(), name) != components_.end();
}

fs::path ModelFolder::component(const std::string& name) const {
  if (!has_component(name)) {
    throw Error(fmt::format("{} has no component '{}' ({})", description_, name,
                            components_.empty()
                                ? std::string("it is a single model without model_index.json")
                                : fmt::format("model_index.json lists: {}",
                                              fmt::join(components_, ", "))));
  }
  const fs::path path = root_ / name;
  std::error_code error;
  if (!fs::is_directory(path, error)) {
    throw Error(fmt::format("{}: model_index.json lists component '{}' but folder '{}' is "
                            "missing (an incomplete download?)",
                            description_, name, path.string()));
  }
  return path;
}

nlohmann::json ModelFolder::config(const std::string& component_name) const {
  const fs::path folder = component_name.empty() ? root_ : component(component_name);
  std::error_code error;
  for (const char* name : kConfigNames) {
    if (fs::is_regular_file(folder / name, error)) {
      const nlohmann::json config = detail::read_json_file(folder / name, "config");
      if (!config.is_object()) {
        throw Error(fmt::format("config '{}' is not a JSON object", (folder / name).string()));
      }
      return config;
    }
  }
  throw Error(fmt::format("{}: folder '{}' has no config (looked for {})", description_,
                          folder.string(), fmt::join(kConfigNames, ", ")));
}

nlohmann::json ModelFolder::model_index() const {
  if (!has_model_index_) {
    throw Error(fmt::format("{} has no model_index.json (it is a single model)", description_));
  }
  const fs::path file = root_ / "model_index.json";
  nlohmann::json index = detail::read_json_file(file, "model index");
  if (!index.is_object()) {
    throw Error(fmt::format("model index '{}' is not a JSON object", file.string()));
  }
  return index;
}

}  // namespace omni
