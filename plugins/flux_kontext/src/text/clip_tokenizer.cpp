#include "flux_kontext/text/clip_tokenizer.hpp"

#include <fstream>
#include <limits>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "flux_kontext/text/clip_pretokenizer.hpp"
#include "omni/byte_level_bpe.hpp"
#include "omni/error.hpp"
#include "text/token_rows.hpp"
#include "text/tokenizer_files.hpp"
#include "text/unicode_text.hpp"

namespace flux_kontext {

namespace fs = std::filesystem;

struct ClipTokenizer::State {
  std::unordered_map<std::string, std::int64_t> encoder;
  std::unordered_map<std::int64_t, std::string> decoder;
  omni::BpeMerges merges;
  std::unordered_map<std::string, std::int64_t> added_tokens;
  std::unordered_map<std::int64_t, std::string> added_by_id;
  std::vector<std::string> no_split;
  std::unordered_set<std::int64_t> special_ids;
  std::int64_t bos = 0, eos = 0, pad = 0, unk = 0;
  std::int64_t model_max_length = 77;
  bool clean_up_spaces = false;
};

namespace {

// CLIPTokenizer keeps at most 49152 - 256 - 2 merges (the size of CLIP's own vocabulary) and
// always skips the first line, the "#version" header.
constexpr std::size_t kMaxMerges = 49152 - 256 - 2;

std::string read_text_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw omni::Error(fmt::format("cannot open {}", file.string()));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::vector<std::string> split_ascii_space(std::string_view line) {
  std::vector<std::string> parts;
  std::size_t at = 0;
  while (at < line.size()) {
    while (at < line.size() && is_ascii_space(line[at])) ++at;
    std::size_t end = at;
    while (end < line.size() && !is_ascii_space(line[end])) ++end;
    if (end > at) parts.emplace_back(line.substr(at, end - at));
    at = end;
  }
  return parts;
}

void read_vocab(const fs::path& file, ClipTokenizer::State& state) {
  const nlohmann::json vocab = read_json_file(file);
  if (!vocab.is_object()) {
    throw omni::Error(fmt::format("{}: expected a JSON object mapping tokens to ids",
                                  file.string()));
  }
  for (const auto& [token, id] : vocab.items()) {
    if (!id.is_number_integer()) {
      throw omni::Error(fmt::format("{}: the id of token '{}' is not an integer", file.string(),
                                    token));
    }
    state.encoder[token] = id.get<std::int64_t>();
    state.decoder[id.get<std::int64_t>()] = token;
  }
}

void read_merges(const fs::path& file, ClipTokenizer::State& state) {
  std::string text = read_text_file(file);
  // Python: read().strip().split("\n")[1 : kMaxMerges + 1]
  const std::size_t first = text.find_first_not_of(" \t\n\r\f\v");
  const std::size_t last = text.find_last_not_of(" \t\n\r\f\v");
  if (first == std::string::npos) return;
  std::string_view body = std::string_view(text).substr(first, last - first + 1);
  std::size_t line_number = 0;
  std::size_t at = 0;
  while (at <= body.size() && line_number <= kMaxMerges) {
    std::size_t end = body.find('\n', at);
    if (end == std::string_view::npos) end = body.size();
    if (line_number > 0) {
      std::vector<std::string> parts = split_ascii_space(body.substr(at, end - at));
      // A later duplicate takes the later rank, as dict(zip(merges, range(n))) does.
      if (parts.size() == 2) state.merges.add(parts[0], parts[1]);
    }
    ++line_number;
    at = end + 1;
  }
}

std::int64_t special_id(const ClipTokenizer::State& state, const std::optional<std::string>& token,
                        std::string_view role, const fs::path& folder) {
  if (!token) {
    throw omni::Error(fmt::format("CLIP tokenizer in {}: the {} token is null; CLIP needs one",
                                  folder.string(), role));
  }
  if (auto added = state.added_tokens.find(*token); added != state.added_tokens.end()) {
    return added->second;
  }
  if (auto known = state.encoder.find(*token); known != state.encoder.end()) return known->second;
  throw omni::Error(fmt::format("{}: has no entry for the {} token '{}'",
                                (folder / "vocab.json").string(), role, *token));
}

std::vector<std::string> bpe(const std::string& word, const ClipTokenizer::State& state) {
  return state.merges.apply(omni::byte_level_symbols(word, "</w>"));
}

std::string strip_python_space(const std::u32string& text) {
  std::size_t begin = 0;
  std::size_t end = text.size();
  while (begin < end && unicode::is_python_space(text[begin])) ++begin;
  while (end > begin && unicode::is_python_space(text[end - 1])) --end;
  return unicode::encode_utf8(std::u32string_view(text).substr(begin, end - begin));
}

void replace_all(std::string& text, std::string_view from, std::string_view to) {
  for (std::size_t at = text.find(from); at != std::string::npos;
       at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
}

// transformers' clean_up_tokenization, applied when tokenizer_config.json asks for it.
void clean_up_tokenization(std::string& text) {
  const std::pair<std::string_view, std::string_view> rules[] = {
      {" .", "."},   {" ?", "?"},     {" !", "!"},     {" ,", ","},     {" ' ", "'"},
      {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  for (const auto& [from, to] : rules) replace_all(text, from, to);
}

}  // namespace

ClipTokenizer ClipTokenizer::from_folder(const fs::path& folder) {
  const fs::path vocab_file = folder / "vocab.json";
  const fs::path merges_file = folder / "merges.txt";
  require_file(vocab_file, "CLIP", "the BPE vocabulary, a JSON object token -> id");
  require_file(merges_file, "CLIP", "the BPE merges, one 'first second' pair per line");
  auto state = std::make_shared<State>();
  read_vocab(vocab_file, *state);
  read_merges(merges_file, *state);

  TokenizerSettings settings = read_tokenizer_settings(folder);
  for (const AddedTokenEntry& entry : settings.added_tokens) {
    state->added_tokens[entry.content] = entry.id;
    state->added_by_id[entry.id] = entry.content;
    if (entry.special) state->special_ids.insert(entry.id);
  }
  // CLIPTokenizer's defaults when the files name no token.
  if (!settings.bos_set) settings.bos = "<|startoftext|>";
  if (!settings.eos_set) settings.eos = "<|endoftext|>";
  if (!settings.unk_set) settings.unk = "<|endoftext|>";
  if (!settings.pad_set) settings.pad = "<|endoftext|>";
  state->bos = special_id(*state, settings.bos, "bos", folder);
  state->eos = special_id(*state, settings.eos, "eos", folder);
  state->unk = special_id(*state, settings.unk, "unk", folder);
  state->pad = special_id(*state, settings.pad, "pad", folder);
  const std::pair<const std::optional<std::string>*, std::int64_t> specials[] = {
      {&settings.bos, state->bos},
      {&settings.eos, state->eos},
      {&settings.unk, state->unk},
      {&settings.pad, state->pad}};
  for (const auto& [token, id] : specials) {
    state->added_tokens.emplace(**token, id);
    state->special_ids.insert(id);
  }
  for (const std::string& token : settings.additional_special_tokens) {
    state->special_ids.insert(special_id(*state, token, "additional special", folder));
  }
  for (const auto& [token, id] : state->added_tokens) state->no_split.push_back(token);
  std::sort(state->no_split.begin(), state->no_split.end());
  if (settings.model_max_length) state->model_max_length = *settings.model_max_length;
  state->clean_up_spaces = settings.clean_up_tokenization_spaces;
  return ClipTokenizer(std::move(state));
}

std::vector<std::string> ClipTokenizer::tokenize(std::string_view text) const {
  std::vector<std::string> tokens;
  for (const TextPiece& piece : split_on_added_tokens(text, state_->no_split)) {
    if (piece.is_added_token) {
      tokens.emplace_back(piece.text);
      continue;
    }
    for (const std::string& word : clip_split_words(clip_normalize(piece.text))) {
      for (std::string& token : bpe(word, *state_)) tokens.push_back(std::move(token));
    }
  }
  return tokens;
}

std::vector<std::int64_t> ClipTokenizer::encode(std::string_view text,
                                                SpecialTokens specials) const {
  std::vector<std::int64_t> ids;
  if (specials == SpecialTokens::include) ids.push_back(state_->bos);
  for (const std::string& token : tokenize(text)) {
    ids.push_back(token_to_id(token).value_or(state_->unk));
  }
  if (specials == SpecialTokens::include) ids.push_back(state_->eos);
  return ids;
}

TokenBatch ClipTokenizer::encode_padded(const std::vector<std::string>& texts,
                                        std::int64_t max_length) const {
  std::vector<std::vector<std::int64_t>> contents;
  contents.reserve(texts.size());
  for (const std::string& text : texts) contents.push_back(encode(text, SpecialTokens::exclude));
  RowLayout layout;
  layout.bos_id = state_->bos;
  layout.eos_id = state_->eos;
  layout.pad_id = state_->pad;
  layout.max_length = max_length > 0 ? max_length : state_->model_max_length;
  auto describe = [&](std::size_t row, const std::vector<std::int64_t>& cut) {
    return fmt::format("CLIP tokenizer: prompt {} was truncated to {} tokens ({} tokens cut); "
                       "this part of it was dropped: \"{}\"",
                       row, layout.max_length, cut.size(), decode(cut));
  };
  return assemble_rows(contents, layout, describe, warn_);
}

std::string ClipTokenizer::decode(const std::vector<std::int64_t>& ids,
                                  SpecialTokens specials) const {
  std::string joined;
  for (std::int64_t id : ids) {
    if (specials == SpecialTokens::exclude && state_->special_ids.count(id) != 0) continue;
    if (auto added = state_->added_by_id.find(id); added != state_->added_by_id.end()) {
      joined += added->second;
    } else if (auto token = state_->decoder.find(id); token != state_->decoder.end()) {
      joined += token->second;
    } else {
      throw omni::Error(fmt::format("CLIP tokenizer: id {} is not in the vocabulary", id));
    }
  }
  // Added tokens keep their own characters; "</w>" is plain ASCII and survives the mapping.
  const std::string bytes = omni::byte_level_to_bytes(joined);
  std::string text = unicode::encode_utf8(unicode::decode_utf8(bytes));  // errors="replace"
  replace_all(text, "</w>", " ");
  text = strip_python_space(unicode::decode_utf8(text));
  if (state_->clean_up_spaces) clean_up_tokenization(text);
  return text;
}

std::optional<std::int64_t> ClipTokenizer::token_to_id(std::string_view token) const {
  const std::string key(token);
  if (auto added = state_->added_tokens.find(key); added != state_->added_tokens.end()) {
    return added->second;
  }
  if (auto known = state_->encoder.find(key); known != state_->encoder.end()) return known->second;
  return std::nullopt;
}

std::int64_t ClipTokenizer::bos_id() const { return state_->bos; }
std::int64_t ClipTokenizer::eos_id() const { return state_->eos; }
std::int64_t ClipTokenizer::pad_id() const { return state_->pad; }
std::int64_t ClipTokenizer::unk_id() const { return state_->unk; }
std::int64_t ClipTokenizer::model_max_length() const { return state_->model_max_length; }
std::int64_t ClipTokenizer::vocab_size() const {
  return static_cast<std::int64_t>(state_->encoder.size());
}

}  // namespace flux_kontext
