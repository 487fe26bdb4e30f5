#include "json_config_reader.hpp"

#include <fstream>

#include <fmt/format.h>

#include "omni/error.hpp"

namespace flux_kontext::detail {

nlohmann::json read_json_object(const std::filesystem::path& file) {
  std::ifstream stream(file);
  if (!stream) throw omni::Error(fmt::format("cannot open '{}'", file.string()));
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(stream);
  } catch (const nlohmann::json::parse_error& error) {
    throw omni::Error(fmt::format("'{}' is not valid JSON: {}", file.string(), error.what()));
  }
  if (!json.is_object()) {
    throw omni::Error(fmt::format("'{}' must hold a JSON object", file.string()));
  }
  return json;
}

JsonConfigReader::JsonConfigReader(const nlohmann::json& json, std::string source)
    : json_(json), source_(std::move(source)) {
  if (!json_.is_object()) throw omni::Error(fmt::format("{}: expected a JSON object", source_));
}

bool JsonConfigReader::has(std::string_view key) const {
  auto found = json_.find(std::string(key));
  return found != json_.end() && !found->is_null();
}

void JsonConfigReader::fail(std::string_view key, std::string_view message) const {
  throw omni::Error(fmt::format("{}: key '{}': {}", source_, key, message));
}

const nlohmann::json& JsonConfigReader::at(std::string_view key) const {
  if (!has(key)) fail(key, "required key is missing");
  return json_.find(std::string(key)).value();
}

namespace {

bool is_integral(const nlohmann::json& value) {
  return value.is_number_integer() ||
         (value.is_number_float() && value.get<double>() == static_cast<std::int64_t>(value.get<double>()));
}

}  // namespace

std::int64_t JsonConfigReader::integer(std::string_view key) const {
  const nlohmann::json& value = at(key);
  if (!is_integral(value)) fail(key, fmt::format("expected an integer, got {}", value.dump()));
  return value.is_number_integer() ? value.get<std::int64_t>()
                                   : static_cast<std::int64_t>(value.get<double>());
}

double JsonConfigReader::number(std::string_view key) const {
  const nlohmann::json& value = at(key);
  if (!value.is_number()) fail(key, fmt::format("expected a number, got {}", value.dump()));
  return value.get<double>();
}

bool JsonConfigReader::boolean(std::string_view key) const {
  const nlohmann::json& value = at(key);
  if (!value.is_boolean()) fail(key, fmt::format("expected true or false, got {}", value.dump()));
  return value.get<bool>();
}

std::string JsonConfigReader::string(std::string_view key) const {
  const nlohmann::json& value = at(key);
  if (!value.is_string()) fail(key, fmt::format("expected a string, got {}", value.dump()));
  return value.get<std::string>();
}

std::vector<std::int64_t> JsonConfigReader::integers(std::string_view key) const {
  const nlohmann::json& value = at(key);
  if (!value.is_array()) fail(key, fmt::format("expected a list of integers, got {}", value.dump()));
  std::vector<std::int64_t> out;
  for (const nlohmann::json& item : value) {
    if (!item.is_number_integer()) {
      fail(key, fmt::format("expected a list of integers, got {}", value.dump()));
    }
    out.push_back(item.get<std::int64_t>());
  }
  return out;
}

std::vector<std::string> JsonConfigReader::strings(std::string_view key) const {
  const nlohmann::json& value = at(key);
  if (!value.is_array()) fail(key, fmt::format("expected a list of strings, got {}", value.dump()));
  std::vector<std::string> out;
  for (const nlohmann::json& item : value) {
    if (!item.is_string()) fail(key, fmt::format("expected a list of strings, got {}", value.dump()));
    out.push_back(item.get<std::string>());
  }
  return out;
}

std::int64_t JsonConfigReader::integer(std::string_view key, std::int64_t fallback) const {
  return has(key) ? integer(key) : fallback;
}

double JsonConfigReader::number(std::string_view key, double fallback) const {
  return has(key) ? number(key) : fallback;
}

bool JsonConfigReader::boolean(std::string_view key, bool fallback) const {
  return has(key) ? boolean(key) : fallback;
}

std::string JsonConfigReader::string(std::string_view key, const std::string& fallback) const {
  return has(key) ? string(key) : fallback;
}

std::optional<double> JsonConfigReader::optional_number(std::string_view key) const {
  if (!has(key)) return std::nullopt;
  return number(key);
}

}  // namespace flux_kontext::detail
