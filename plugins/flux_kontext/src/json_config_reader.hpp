#pragma once
// Typed, strict reading of diffusers config.json / scheduler_config.json files: every error
// names the file and the key, so a bad config is fixed without reading the source.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace flux_kontext::detail {

// Parses `file` as a JSON object; throws omni::Error naming the file (and the parse position).
nlohmann::json read_json_object(const std::filesystem::path& file);

class JsonConfigReader {
 public:
  // `source` names the file in messages; `json` must outlive the reader.
  JsonConfigReader(const nlohmann::json& json, std::string source);

  bool has(std::string_view key) const;  // present and not null

  // Required keys: a missing or null key is an error.
  std::int64_t integer(std::string_view key) const;
  double number(std::string_view key) const;
  bool boolean(std::string_view key) const;
  std::string string(std::string_view key) const;
  std::vector<std::int64_t> integers(std::string_view key) const;
  std::vector<std::string> strings(std::string_view key) const;

  // Optional keys: absent or null gives the fallback.
  std::int64_t integer(std::string_view key, std::int64_t fallback) const;
  double number(std::string_view key, double fallback) const;
  bool boolean(std::string_view key, bool fallback) const;
  std::string string(std::string_view key, const std::string& fallback) const;
  std::optional<double> optional_number(std::string_view key) const;

  // Throws omni::Error "<source>: key '<key>': <message>".
  [[noreturn]] void fail(std::string_view key, std::string_view message) const;

 private:
  const nlohmann::json& at(std::string_view key) const;  // required: throws when missing

  const nlohmann::json& json_;
  std::string source_;
};

}  // namespace flux_kontext::detail
