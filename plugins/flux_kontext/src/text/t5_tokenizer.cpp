#include "flux_kontext/text/t5_tokenizer.hpp"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>
#include "omni/error.hpp"
#include "text/sentencepiece_library.hpp"
#include "text/token_rows.hpp"
#include "text/tokenizer_files.hpp"

namespace flux_kontext {

namespace fs = std::filesystem;

struct T5Tokenizer::State {
  explicit State(SentencePieceModel model) : processor(std::move(model)) {}
  SentencePieceModel processor;
  std::int64_t piece_count = 0;
  std::unordered_map<std::string, std::int64_t> added_tokens;
  std::unordered_map<std::int64_t, std::string> added_by_id;
  std::vector<std::string> no_split;
  std::unordered_set<std::int64_t> special_ids;
  std::int64_t eos = 1, pad = 0, unk = 2;
  std::int64_t model_max_length = 512;
};

namespace {

std::int64_t piece_id(const T5Tokenizer::State& state, const std::string& piece,
                      std::string_view role, const fs::path& model_file) {
  if (auto added = state.added_tokens.find(piece); added != state.added_tokens.end()) {
    return added->second;
  }
  const int id = state.processor.piece_to_id(piece);
  // Unknown pieces answer unk_id, so only the unk piece itself may map there.
  if (id == state.processor.unk_id() && piece != state.processor.id_to_piece(id)) {
    throw omni::Error(fmt::format("{}: has no piece '{}' for the {} token", model_file.string(),
                                  piece, role));
  }
  return id;
}

void add_token(T5Tokenizer::State& state, const std::string& content, std::int64_t id,
               bool special) {
  state.added_tokens[content] = id;
  state.added_by_id[id] = content;
  if (special) state.special_ids.insert(id);
}

}  // namespace

T5Tokenizer T5Tokenizer::from_folder(const fs::path& folder) {
  const fs::path model_file = folder / "spiece.model";
  require_file(model_file, "T5", "the sentencepiece model");
  auto state = std::make_shared<State>(SentencePieceModel::load(model_file));
  state->piece_count = state->processor.piece_count();

  TokenizerSettings settings = read_tokenizer_settings(folder);
  // T5Tokenizer numbers <extra_id_i> downwards from the top: <extra_id_0> is the last id.
  const std::int64_t extra_ids = settings.extra_ids.value_or(100);
  for (std::int64_t i = 0; i < extra_ids; ++i) {
    add_token(*state, fmt::format("<extra_id_{}>", i), state->piece_count + extra_ids - 1 - i,
              true);
  }
  for (const AddedTokenEntry& entry : settings.added_tokens) {
    add_token(*state, entry.content, entry.id, entry.special);
  }
  const std::string eos = settings.eos_set && settings.eos ? *settings.eos : "</s>";
  const std::string pad = settings.pad_set && settings.pad ? *settings.pad : "<pad>";
  const std::string unk = settings.unk_set && settings.unk ? *settings.unk : "<unk>";
  state->eos = piece_id(*state, eos, "eos", model_file);
  state->pad = piece_id(*state, pad, "pad", model_file);
  state->unk = piece_id(*state, unk, "unk", model_file);
  add_token(*state, eos, state->eos, true);
  add_token(*state, pad, state->pad, true);
  add_token(*state, unk, state->unk, true);
  for (const std::string& token : settings.additional_special_tokens) {
    if (state->added_tokens.count(token) == 0) {
      throw omni::Error(fmt::format("{}: additional special token '{}' has no id",
                                    (folder / "tokenizer_config.json").string(), token));
    }
  }
  for (const auto& [token, id] : state->added_tokens) state->no_split.push_back(token);
  std::sort(state->no_split.begin(), state->no_split.end());
  if (settings.model_max_length) state->model_max_length = *settings.model_max_length;
  return T5Tokenizer(std::move(state));
}

std::vector<std::int64_t> T5Tokenizer::encode(std::string_view text,
                                              SpecialTokens specials) const {
  std::vector<std::int64_t> ids;
  // Added tokens are cut out first and each stretch between them is encoded on its own, as
  // the fast tokenizer does (each stretch therefore gets sentencepiece's leading "▁").
  for (const TextPiece& piece : split_on_added_tokens(text, state_->no_split)) {
    if (piece.is_added_token) {
      ids.push_back(state_->added_tokens.at(std::string(piece.text)));
      continue;
    }
    const std::vector<int> piece_ids = state_->processor.encode(piece.text);
    ids.insert(ids.end(), piece_ids.begin(), piece_ids.end());
  }
  if (specials == SpecialTokens::include) ids.push_back(state_->eos);
  return ids;
}

TokenBatch T5Tokenizer::encode_padded(const std::vector<std::string>& texts,
                                      std::int64_t max_length) const {
  std::vector<std::vector<std::int64_t>> contents;
  contents.reserve(texts.size());
  for (const std::string& text : texts) contents.push_back(encode(text, SpecialTokens::exclude));
  RowLayout layout;
  layout.eos_id = state_->eos;
  layout.pad_id = state_->pad;
  layout.max_length = max_length > 0 ? max_length : state_->model_max_length;
  auto describe = [&](std::size_t row, const std::vector<std::int64_t>& cut) {
    return fmt::format("T5 tokenizer: prompt {} was truncated to {} tokens ({} tokens cut); "
                       "this part of it was dropped: \"{}\"",
                       row, layout.max_length, cut.size(), decode(cut));
  };
  return assemble_rows(contents, layout, describe, warn_);
}

std::string T5Tokenizer::decode(const std::vector<std::int64_t>& ids,
                                SpecialTokens specials) const {
  std::string text;
  std::vector<int> run;
  auto flush = [&] {
    if (run.empty()) return;
    text += state_->processor.decode(run);
    run.clear();
  };
  for (std::int64_t id : ids) {
    if (specials == SpecialTokens::exclude && state_->special_ids.count(id) != 0) continue;
    if (auto added = state_->added_by_id.find(id); added != state_->added_by_id.end()) {
      flush();
      text += added->second;
    } else if (id >= 0 && id < state_->piece_count) {
      run.push_back(static_cast<int>(id));
    } else {
      throw omni::Error(fmt::format("T5 tokenizer: id {} is not in the vocabulary", id));
    }
  }
  flush();
  return text;
}

std::int64_t T5Tokenizer::eos_id() const { return state_->eos; }
std::int64_t T5Tokenizer::pad_id() const { return state_->pad; }
std::int64_t T5Tokenizer::unk_id() const { return state_->unk; }
std::int64_t T5Tokenizer::model_max_length() const { return state_->model_max_length; }
std::int64_t T5Tokenizer::vocab_size() const {
  std::int64_t top = state_->piece_count;
  for (const auto& [id, token] : state_->added_by_id) top = std::max(top, id + 1);
  return top;
}

}  // namespace flux_kontext
