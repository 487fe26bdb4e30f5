#pragma once
// A model's config.json, read with errors that name the file, the key and what was expected
// ("transformer/config.json: key 'num_layers': expected an integer, got \"two\"").
#include <cmath>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "omni/error.hpp"
#include "omni/export.hpp"

namespace omni {

class OMNI_API JsonConfig {
 public:
  // Reads and parses `file`; throws omni::Error naming it when missing or malformed.
  static JsonConfig read(const std::filesystem::path& file);
  JsonConfig(nlohmann::json json, std::filesystem::path file)
      : json_(std::move(json)), file_(std::move(file)) {}

  bool has(std::string_view key) const {
    auto found = json_.find(std::string(key));
    return found != json_.end() && !found->is_null();
  }

  template <class T>
  T get(std::string_view key) const {
    if (!has(key)) fail(key, fmt::format("missing (expected {})", expected_for<T>()));
    return convert<T>(key, json_.at(std::string(key)));
  }

  template <class T>
  T get(std::string_view key, const T& fallback) const {
    return has(key) ? convert<T>(key, json_.at(std::string(key))) : fallback;
  }

  template <class T>
  std::optional<T> get_optional(std::string_view key) const {
    if (!has(key)) return std::nullopt;
    return convert<T>(key, json_.at(std::string(key)));
  }

  [[noreturn]] void fail(std::string_view key, const std::string& message) const {
    throw Error(fmt::format("{}: key '{}': {}", file_.string(), key, message));
  }

  const nlohmann::json& json() const { return json_; }
  const std::filesystem::path& file() const { return file_; }

 private:
  template <class T>
  static std::string expected_for() {
    if constexpr (std::is_same_v<T, bool>) return "true or false";
    else if constexpr (std::is_integral_v<T>) return "an integer";
    else if constexpr (std::is_floating_point_v<T>) return "a number";
    else if constexpr (std::is_same_v<T, std::string>) return "a string";
    else return "a list";
  }

  template <class T>
  T convert(std::string_view key, const nlohmann::json& value) const {
    bool fits = false;
    if constexpr (std::is_same_v<T, bool>) fits = value.is_boolean();
    // Python writes 1000.0 where it meant 1000 now and then; a whole float is an integer.
    else if constexpr (std::is_integral_v<T>) {
      fits = value.is_number_integer() ||
             (value.is_number_float() && value.get<double>() == std::floor(value.get<double>()));
      if (fits && value.is_number_float()) return static_cast<T>(value.get<double>());
    }
    else if constexpr (std::is_floating_point_v<T>) fits = value.is_number();
    else if constexpr (std::is_same_v<T, std::string>) fits = value.is_string();
    else fits = value.is_array();
    if (fits) {
      try {
        return value.get<T>();
      } catch (const nlohmann::json::exception&) {
        fits = false;
      }
    }
    fail(key, fmt::format("expected {}, got {}", expected_for<T>(), value.dump()));
  }

  nlohmann::json json_;
  std::filesystem::path file_;
};

}  // namespace omni
