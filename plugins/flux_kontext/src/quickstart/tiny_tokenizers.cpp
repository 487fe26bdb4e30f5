#include "flux_kontext/quickstart/tiny_tokenizers.hpp"

#include <array>
#include <fstream>
#include <map>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "flux_kontext/text/clip_pretokenizer.hpp"
#include "omni/byte_level_bpe.hpp"
#include "omni/error.hpp"
#include "text/sentencepiece_library.hpp"
#include "quickstart/tiny_bpe_trainer.hpp"
#include "quickstart/tiny_corpus.hpp"

namespace flux_kontext {
namespace {

namespace fs = std::filesystem;
using ordered_json = nlohmann::ordered_json;

constexpr std::size_t kClipMerges = 300;
constexpr int kT5VocabSize = 200;

void write_file(const fs::path& file, std::string_view content) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  out.close();
  if (!out) throw omni::Error(fmt::format("cannot write {}", file.string()));
}

std::vector<std::string_view> corpus_lines() {
  std::vector<std::string_view> lines;
  std::string_view corpus = tiny_tokenizer_corpus();
  while (!corpus.empty()) {
    std::size_t end = corpus.find('\n');
    if (end == std::string_view::npos) end = corpus.size();
    lines.push_back(corpus.substr(0, end));
    corpus.remove_prefix(std::min(end + 1, corpus.size()));
  }
  return lines;
}

// CLIP's vocabulary order: the byte stand-ins in bytes_to_unicode() order (printable bytes
// first), the same with "</w>", one entry per merge, then the two special tokens.
std::vector<std::string> clip_vocabulary(const BpeMerges& learned) {
  std::array<std::string, 256> stand_ins;
  for (int b = 0; b < 256; ++b) {
    stand_ins[static_cast<std::size_t>(b)] = omni::bytes_to_byte_level(std::string(1, static_cast<char>(b)));
  }
  auto printable = [](int b) {
    return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
  };
  std::vector<std::string> bytes;
  for (int b = 0; b < 256; ++b) {
    if (printable(b)) bytes.push_back(stand_ins[static_cast<std::size_t>(b)]);
  }
  for (int b = 0; b < 256; ++b) {
    if (!printable(b)) bytes.push_back(stand_ins[static_cast<std::size_t>(b)]);
  }
  std::vector<std::string> vocabulary = bytes;
  for (const std::string& symbol : bytes) vocabulary.push_back(symbol + "</w>");
  std::set<std::string> seen(vocabulary.begin(), vocabulary.end());
  for (const auto& [first, second] : learned.merges) {
    if (seen.insert(first + second).second) vocabulary.push_back(first + second);
  }
  vocabulary.push_back("<|startoftext|>");
  vocabulary.push_back("<|endoftext|>");
  return vocabulary;
}

ordered_json added_token(const std::string& content) {
  return ordered_json{{"content", content}, {"lstrip", false},     {"normalized", true},
                      {"rstrip", false},    {"single_word", false}, {"special", true}};
}

std::pair<std::int64_t, std::int64_t> write_clip_files(const fs::path& folder) {
  std::map<std::string, std::size_t> word_counts;
  for (std::string_view line : corpus_lines()) {
    for (const std::string& word : clip_split_words(clip_normalize(line))) ++word_counts[word];
  }
  const BpeMerges learned = train_bpe(word_counts, kClipMerges);
  const std::vector<std::string> vocabulary = clip_vocabulary(learned);

  ordered_json vocab = ordered_json::object();
  for (std::size_t id = 0; id < vocabulary.size(); ++id) vocab[vocabulary[id]] = id;
  write_file(folder / "vocab.json", vocab.dump(2) + "\n");

  std::string merges = "#version: 0.2\n";
  for (const auto& [first, second] : learned.merges) merges += first + " " + second + "\n";
  write_file(folder / "merges.txt", merges);

  const auto bos_id = static_cast<std::int64_t>(vocabulary.size() - 2);
  const auto eos_id = static_cast<std::int64_t>(vocabulary.size() - 1);
  ordered_json config = {
      {"add_prefix_space", false},
      {"added_tokens_decoder",
       {{std::to_string(bos_id), added_token("<|startoftext|>")},
        {std::to_string(eos_id), added_token("<|endoftext|>")}}},
      {"bos_token", "<|startoftext|>"},
      {"clean_up_tokenization_spaces", true},
      {"do_lower_case", true},
      {"eos_token", "<|endoftext|>"},
      {"errors", "replace"},
      {"model_max_length", 77},
      {"pad_token", "<|endoftext|>"},
      {"tokenizer_class", "CLIPTokenizer"},
      {"unk_token", "<|endoftext|>"}};
  write_file(folder / "tokenizer_config.json", config.dump(2) + "\n");
  ordered_json special = {{"bos_token", "<|startoftext|>"},
                          {"eos_token", "<|endoftext|>"},
                          {"pad_token", "<|endoftext|>"},
                          {"unk_token", "<|endoftext|>"}};
  write_file(folder / "special_tokens_map.json", special.dump(2) + "\n");
  return {static_cast<std::int64_t>(vocabulary.size()),
          static_cast<std::int64_t>(learned.merges.size())};
}

std::int64_t write_t5_files(const fs::path& folder) {
  // T5's id layout (<pad> 0, </s> 1, <unk> 2, no <s>); one thread and no sampling so that the
  // model bytes do not vary between runs.
  const std::string options = fmt::format(
      "--model_type=unigram --vocab_size={} --pad_id=0 --eos_id=1 --unk_id=2 --bos_id=-1 "
      "--character_coverage=1.0 --num_threads=1 --input_sentence_size=0 "
      "--shuffle_input_sentence=false --minloglevel=2",
      kT5VocabSize);
  write_file(folder / "spiece.model", train_sentencepiece(options, corpus_lines()));

  ordered_json config = {{"additional_special_tokens", ordered_json::array()},
                         {"clean_up_tokenization_spaces", true},
                         {"eos_token", "</s>"},
                         {"extra_ids", 0},
                         {"legacy", true},
                         // The real T5 pads to 512; a tiny model's short prompts need far
                         // fewer, and attention cost grows with every padded token.
                         {"model_max_length", 128},
                         {"pad_token", "<pad>"},
                         {"tokenizer_class", "T5Tokenizer"},
                         {"unk_token", "<unk>"}};
  write_file(folder / "tokenizer_config.json", config.dump(2) + "\n");
  ordered_json special = {
      {"eos_token", "</s>"}, {"pad_token", "<pad>"}, {"unk_token", "<unk>"}};
  write_file(folder / "special_tokens_map.json", special.dump(2) + "\n");
  return kT5VocabSize;
}

}  // namespace

TinyTokenizerSizes write_tiny_tokenizers(const fs::path& model_folder) {
  std::error_code error;
  for (const char* name : {"tokenizer", "tokenizer_2"}) {
    fs::create_directories(model_folder / name, error);
    if (error) {
      throw omni::Error(fmt::format("cannot create {}: {}", (model_folder / name).string(),
                                    error.message()));
    }
  }
  TinyTokenizerSizes sizes;
  std::tie(sizes.clip_vocab_size, sizes.clip_merges) =
      write_clip_files(model_folder / "tokenizer");
  sizes.t5_vocab_size = write_t5_files(model_folder / "tokenizer_2");
  return sizes;
}

}  // namespace flux_kontext
