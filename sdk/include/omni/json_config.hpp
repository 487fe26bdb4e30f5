#pragma once
// A model's config.json, read with errors that name the file, the key and what was expected
// ("transformer/config.json: key 'num_layers': expected an integer, got \"two\"").
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

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
    else if constexpr (is_integer_vector<T>::value) return "a list of integers";
    else return "a list";
  }

  template <class T>
  struct is_integer_vector : std::false_type {};
  template <class E>
  struct is_integer_vector<std::vector<E>>
      : std::bool_constant<std::is_integral_v<E> && !std::is_same_v<E, bool>> {};

  // Whether `value` is a whole number that Integer holds. Python writes 1000.0 where it meant
  // 1000 now and then, so a whole float counts; one beyond Integer's range (JSON has no limit,
  // and converting it would be undefined behaviour) does not.
  template <class Integer>
  static bool holds_integer(const nlohmann::json& value) {
    constexpr Integer low = std::numeric_limits<Integer>::min();
    constexpr Integer high = std::numeric_limits<Integer>::max();
    if (value.is_number_unsigned()) {
      return value.get<std::uint64_t>() <= static_cast<std::uint64_t>(high);
    }
    if (value.is_number_integer()) {
      const std::int64_t number = value.get<std::int64_t>();
      if constexpr (std::is_signed_v<Integer>) return number >= low && number <= high;
      else return number >= 0 && static_cast<std::uint64_t>(number) <= high;
    }
    if (value.is_number_float()) {
      const double number = value.get<double>();
      // 2^digits is exactly representable, unlike `high`.
      const double limit = std::ldexp(1.0, std::numeric_limits<Integer>::digits);
      const double lowest = std::is_signed_v<Integer> ? -limit : 0.0;
      return number == std::floor(number) && number >= lowest && number < limit;
    }
    return false;
  }

  template <class Integer>
  static Integer to_integer(const nlohmann::json& value) {
    return value.is_number_float() ? static_cast<Integer>(value.get<double>())
                                   : value.get<Integer>();
  }

  template <class T>
  T convert(std::string_view key, const nlohmann::json& value) const {
    bool fits = false;
    if constexpr (std::is_same_v<T, bool>) {
      fits = value.is_boolean();
    } else if constexpr (std::is_integral_v<T>) {
      if (holds_integer<T>(value)) return to_integer<T>(value);
    } else if constexpr (is_integer_vector<T>::value) {
      using Integer = typename T::value_type;
      if (value.is_array() && std::all_of(value.begin(), value.end(), holds_integer<Integer>)) {
        T numbers;
        for (const nlohmann::json& item : value) numbers.push_back(to_integer<Integer>(item));
        return numbers;
      }
    } else if constexpr (std::is_floating_point_v<T>) {
      fits = value.is_number();
    } else if constexpr (std::is_same_v<T, std::string>) {
      fits = value.is_string();
    } else {
      fits = value.is_array();
    }
    if (fits) {
      try {
        return value.get<T>();
      } catch (const nlohmann::json::exception&) {
      }
    }
    fail(key, fmt::format("expected {}, got {}", expected_for<T>(), value.dump()));
  }

  nlohmann::json json_;
  std::filesystem::path file_;
};

}  // namespace omni
