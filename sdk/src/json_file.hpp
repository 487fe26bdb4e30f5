#pragma once
// Reading the JSON files of model folders (config.json, model_index.json, *.index.json) with
// errors that name the file and the line and column.
#include <filesystem>
#include <string_view>

#include <nlohmann/json.hpp>

namespace omni::detail {

// `what` names the file's role in messages ("model index", "config"). Throws omni::Error.
nlohmann::json read_json_file(const std::filesystem::path& file, std::string_view what);

}  // namespace omni::detail
