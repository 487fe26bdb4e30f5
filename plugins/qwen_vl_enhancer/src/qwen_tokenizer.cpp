#include "qwen_vl/qwen_tokenizer.hpp"

#include <algorithm>
#include <fstream>
#include <mutex>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "omni/byte_level_bpe.hpp"
#include "omni/error.hpp"
#include "omni/unicode_text.hpp"
#include "qwen_vl/qwen_pretokenizer.hpp"

namespace qwen_vl {

struct QwenTokenizer::State {
  std::unordered_map<std::string, std::int64_t> vocab;
  std::unordered_map<std::int64_t, std::string> id_to_token;
  omni::BpeMerges merges;
  struct Added {
    std::string content;
    std::int64_t id;
    bool special;
  };
  std::vector<Added> added;  // longest content first, so the longest match wins
  std::unordered_map<std::int64_t, std::size_t> added_by_id;
  // BPE results per pre-tokenized piece; pieces repeat a lot in prompts.
  mutable std::mutex cache_mutex;
  mutable std::unordered_map<std::string, std::vector<std::int64_t>> cache;

  std::vector<std::int64_t> bpe(const std::string& piece) const;
};

namespace {

[[noreturn]] void fail(const std::filesystem::path& file, const std::string& what) {
  throw omni::Error(fmt::format("{}: {}", file.string(), what));
}

}  // namespace

std::vector<std::int64_t> QwenTokenizer::State::bpe(const std::string& piece) const {
  {
    std::lock_guard<std::mutex> lock(cache_mutex);
    auto found = cache.find(piece);
    if (found != cache.end()) return found->second;
  }
  const std::vector<std::string> symbols = merges.apply(omni::byte_level_symbols(piece));
  std::vector<std::int64_t> ids;
  for (const std::string& symbol : symbols) {
    auto found = vocab.find(symbol);
    // Byte-level BPE covers every byte; a vocabulary without one is malformed.
    if (found == vocab.end()) {
      throw omni::Error(fmt::format("Qwen tokenizer: the vocabulary has no token '{}'", symbol));
    }
    ids.push_back(found->second);
  }
  std::lock_guard<std::mutex> lock(cache_mutex);
  cache.emplace(piece, ids);
  return ids;
}

QwenTokenizer QwenTokenizer::from_file(const std::filesystem::path& tokenizer_json) {
  std::ifstream in(tokenizer_json);
  if (!in) fail(tokenizer_json, "cannot be read (the Qwen tokenizer needs tokenizer.json)");
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& error) {
    fail(tokenizer_json, std::string("is not valid JSON: ") + error.what());
  }
  auto state = std::make_shared<State>();
  const nlohmann::json& model = json.contains("model") ? json.at("model") : nlohmann::json();
  const bool bpe_type = model.is_object() && (!model.contains("type") || model.at("type") == "BPE");
  if (!bpe_type ||
      !model.contains("vocab") || !model.at("vocab").is_object() || !model.contains("merges") ||
      !model.at("merges").is_array()) {
    fail(tokenizer_json, "expected a BPE \"model\" with \"vocab\" (object) and \"merges\" (list)");
  }
  for (const auto& [token, id] : model.at("vocab").items()) {
    if (!id.is_number_integer()) fail(tokenizer_json, "vocab entry '" + token + "' is not an id");
    state->vocab[token] = id.get<std::int64_t>();
    state->id_to_token[id.get<std::int64_t>()] = token;
  }
  for (const nlohmann::json& merge : model.at("merges")) {
    std::pair<std::string, std::string> pair;
    if (merge.is_string()) {  // "a b" (older files)
      const std::string text = merge.get<std::string>();
      const std::size_t space = text.find(' ');
      if (space == std::string::npos) fail(tokenizer_json, "merge '" + text + "' has no space");
      pair = {text.substr(0, space), text.substr(space + 1)};
    } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() &&
               merge[1].is_string()) {  // ["a", "b"] (newer files)
      pair = {merge[0].get<std::string>(), merge[1].get<std::string>()};
    } else {
      fail(tokenizer_json, "merge " + merge.dump() + " is neither \"a b\" nor [\"a\", \"b\"]");
    }
    state->merges.add(pair.first, pair.second);
  }
  if (json.contains("added_tokens") && json.at("added_tokens").is_array()) {
    for (const nlohmann::json& token : json.at("added_tokens")) {
      if (!token.is_object() || !token.contains("content") || !token.at("content").is_string() ||
          !token.contains("id") || !token.at("id").is_number_integer()) {
        fail(tokenizer_json, "added token " + token.dump() +
                                 " needs a string \"content\" and an integer \"id\"");
      }
      bool special = false;
      if (token.contains("special") && !token.at("special").is_null()) {
        if (!token.at("special").is_boolean()) {
          fail(tokenizer_json, "added token " + token.dump() + ": \"special\" must be true or false");
        }
        special = token.at("special").get<bool>();
      }
      State::Added added{token.at("content").get<std::string>(), token.at("id").get<std::int64_t>(),
                         special};
      state->id_to_token[added.id] = added.content;
      state->added.push_back(std::move(added));
    }
  }
  std::stable_sort(state->added.begin(), state->added.end(),
                   [](const State::Added& a, const State::Added& b) {
                     return a.content.size() > b.content.size();
                   });
  for (std::size_t k = 0; k < state->added.size(); ++k) state->added_by_id[state->added[k].id] = k;
  return QwenTokenizer(std::move(state));
}

std::vector<std::int64_t> QwenTokenizer::encode(std::string_view text) const {
  std::vector<std::int64_t> ids;
  auto encode_plain = [&](std::string_view plain) {
    if (plain.empty()) return;
    const std::string normalized = omni::unicode::encode_utf8(
        omni::unicode::nfc(omni::unicode::decode_utf8(plain)));
    for (const std::string& piece : qwen2_pretokenize(normalized)) {
      const std::vector<std::int64_t> piece_ids = state_->bpe(piece);
      ids.insert(ids.end(), piece_ids.begin(), piece_ids.end());
    }
  };
  // Added tokens are cut out of the raw text first (earliest position, longest there).
  std::size_t plain_start = 0, k = 0;
  while (k < text.size()) {
    const State::Added* hit = nullptr;
    for (const State::Added& added : state_->added) {
      if (!added.content.empty() && text.compare(k, added.content.size(), added.content) == 0) {
        hit = &added;
        break;
      }
    }
    if (hit == nullptr) {
      ++k;
      continue;
    }
    encode_plain(text.substr(plain_start, k - plain_start));
    ids.push_back(hit->id);
    k += hit->content.size();
    plain_start = k;
  }
  encode_plain(text.substr(plain_start));
  return ids;
}

std::string QwenTokenizer::decode(const std::vector<std::int64_t>& ids,
                                  bool skip_special_tokens) const {
  std::string bytes, mapped;
  auto flush = [&] {
    bytes += omni::byte_level_to_bytes(mapped);
    mapped.clear();
  };
  for (std::int64_t id : ids) {
    auto added = state_->added_by_id.find(id);
    if (added != state_->added_by_id.end()) {
      const State::Added& token = state_->added[added->second];
      if (token.special && skip_special_tokens) continue;
      flush();
      bytes += token.content;
      continue;
    }
    auto found = state_->id_to_token.find(id);
    if (found == state_->id_to_token.end()) {
      throw omni::Error(fmt::format("Qwen tokenizer: id {} is not in the vocabulary", id));
    }
    mapped += found->second;
  }
  flush();
  return omni::unicode::encode_utf8(omni::unicode::decode_utf8(bytes));
}

std::optional<std::int64_t> QwenTokenizer::token_to_id(std::string_view token) const {
  for (const State::Added& added : state_->added) {
    if (added.content == token) return added.id;
  }
  auto found = state_->vocab.find(std::string(token));
  if (found == state_->vocab.end()) return std::nullopt;
  return found->second;
}

std::int64_t QwenTokenizer::require_id(std::string_view token) const {
  if (auto id = token_to_id(token)) return *id;
  throw omni::Error(fmt::format("Qwen tokenizer: no token '{}' in tokenizer.json", token));
}

std::int64_t QwenTokenizer::vocab_size() const {
  return static_cast<std::int64_t>(state_->id_to_token.size());
}

}  // namespace qwen_vl
