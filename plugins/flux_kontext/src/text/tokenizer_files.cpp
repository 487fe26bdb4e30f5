#include "text/tokenizer_files.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "omni/error.hpp"

namespace flux_kontext {
namespace {

namespace fs = std::filesystem;

// A token is written either as a plain string or as an AddedToken object with "content".
std::optional<std::string> token_text(const nlohmann::json& value, const fs::path& file,
                                      std::string_view key) {
  if (value.is_null()) return std::nullopt;
  if (value.is_string()) return value.get<std::string>();
  if (value.is_object() && value.contains("content") && value["content"].is_string()) {
    return value["content"].get<std::string>();
  }
  throw omni::Error(fmt::format("{}: '{}' must be a string, null or an object with a string "
                                "\"content\"",
                                file.string(), key));
}

// `object[key]` as a boolean, `fallback` when absent or null.
bool optional_bool(const nlohmann::json& object, const char* key, bool fallback,
                   const fs::path& file) {
  const auto found = object.find(key);
  if (found == object.end() || found->is_null()) return fallback;
  if (!found->is_boolean()) {
    throw omni::Error(fmt::format("{}: '{}' must be true or false, got {}", file.string(), key,
                                  found->dump()));
  }
  return found->get<bool>();
}

void read_special_tokens(const nlohmann::json& json, const fs::path& file,
                         TokenizerSettings& settings) {
  struct Slot {
    const char* key;
    std::optional<std::string>* value;
    bool* set;
  };
  const Slot slots[] = {{"bos_token", &settings.bos, &settings.bos_set},
                        {"eos_token", &settings.eos, &settings.eos_set},
                        {"unk_token", &settings.unk, &settings.unk_set},
                        {"pad_token", &settings.pad, &settings.pad_set}};
  for (const Slot& slot : slots) {
    if (!json.contains(slot.key)) continue;
    *slot.value = token_text(json[slot.key], file, slot.key);
    *slot.set = true;
  }
  if (json.contains("additional_special_tokens") && json["additional_special_tokens"].is_array()) {
    settings.additional_special_tokens.clear();
    for (const auto& entry : json["additional_special_tokens"]) {
      if (auto text = token_text(entry, file, "additional_special_tokens")) {
        settings.additional_special_tokens.push_back(*text);
      }
    }
  }
}

void read_added_tokens(const nlohmann::json& decoder, const fs::path& file,
                       TokenizerSettings& settings) {
  if (!decoder.is_object()) {
    throw omni::Error(fmt::format("{}: 'added_tokens_decoder' must be an object id -> token",
                                  file.string()));
  }
  for (const auto& [key, value] : decoder.items()) {
    AddedTokenEntry entry;
    try {
      std::size_t used = 0;
      entry.id = std::stoll(key, &used);
      if (used != key.size()) throw std::invalid_argument(key);
    } catch (const std::exception&) {
      throw omni::Error(fmt::format("{}: added_tokens_decoder key '{}' is not a token id",
                                    file.string(), key));
    }
    auto content = token_text(value, file, "added_tokens_decoder");
    if (!content) continue;
    entry.content = *content;
    entry.special = value.is_object() && optional_bool(value, "special", false, file);
    settings.added_tokens.push_back(std::move(entry));
  }
}

}  // namespace

void require_file(const fs::path& file, std::string_view tokenizer,
                  std::string_view what_it_holds) {
  if (!fs::is_regular_file(file)) {
    throw omni::Error(fmt::format("{} tokenizer: missing file {} (expected {})", tokenizer,
                                  file.string(), what_it_holds));
  }
}

nlohmann::json read_json_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw omni::Error(fmt::format("cannot open {}", file.string()));
  std::stringstream buffer;
  buffer << in.rdbuf();
  try {
    return nlohmann::json::parse(buffer.str());
  } catch (const nlohmann::json::exception& error) {
    throw omni::Error(fmt::format("{}: not valid JSON: {}", file.string(), error.what()));
  }
}

TokenizerSettings read_tokenizer_settings(const fs::path& folder) {
  TokenizerSettings settings;
  const fs::path config_file = folder / "tokenizer_config.json";
  if (fs::is_regular_file(config_file)) {
    const nlohmann::json config = read_json_file(config_file);
    if (!config.is_object()) {
      throw omni::Error(fmt::format("{}: expected a JSON object", config_file.string()));
    }
    read_special_tokens(config, config_file, settings);
    if (config.contains("added_tokens_decoder")) {
      read_added_tokens(config["added_tokens_decoder"], config_file, settings);
    }
    // transformers writes int(1e30) for "no limit", which no int64 holds.
    const auto& max_length = config.value("model_max_length", nlohmann::json());
    if (max_length.is_number_integer() && max_length.get<double>() > 0 &&
        max_length.get<double>() < 1e15) {
      settings.model_max_length = max_length.get<std::int64_t>();
    }
    if (config.contains("extra_ids") && config["extra_ids"].is_number_integer()) {
      settings.extra_ids = config["extra_ids"].get<std::int64_t>();
    }
    settings.clean_up_tokenization_spaces =
        optional_bool(config, "clean_up_tokenization_spaces", false, config_file);
  }
  const fs::path map_file = folder / "special_tokens_map.json";
  if (fs::is_regular_file(map_file)) {
    const nlohmann::json map = read_json_file(map_file);
    if (!map.is_object()) {
      throw omni::Error(fmt::format("{}: expected a JSON object", map_file.string()));
    }
    read_special_tokens(map, map_file, settings);
  }
  return settings;
}

std::vector<TextPiece> split_on_added_tokens(std::string_view text,
                                             const std::vector<std::string>& tokens) {
  std::vector<std::string_view> by_length(tokens.begin(), tokens.end());
  std::stable_sort(by_length.begin(), by_length.end(),
                   [](std::string_view a, std::string_view b) { return a.size() > b.size(); });
  std::vector<TextPiece> pieces;
  std::size_t start = 0;
  std::size_t at = 0;
  while (at < text.size()) {
    auto match = std::find_if(by_length.begin(), by_length.end(), [&](std::string_view token) {
      return !token.empty() && text.substr(at, token.size()) == token;
    });
    if (match == by_length.end()) {
      ++at;
      continue;
    }
    if (at > start) pieces.push_back({text.substr(start, at - start), false});
    pieces.push_back({text.substr(at, match->size()), true});
    at += match->size();
    start = at;
  }
  if (start < text.size()) pieces.push_back({text.substr(start), false});
  return pieces;
}

}  // namespace flux_kontext
