#pragma once
// Small tokenizer files the project makes itself, so that tests and the quickstart run without
// downloaded models: a CLIP-format BPE vocabulary and a T5-style sentencepiece model, both
// learned from a short English text compiled into the library.
#include <cstdint>
#include <filesystem>


namespace flux_kontext {

struct TinyTokenizerSizes {
  std::int64_t clip_vocab_size = 0;  // 512 byte symbols + merges + 2 special tokens
  std::int64_t clip_merges = 0;
  std::int64_t t5_vocab_size = 0;  // sentencepiece pieces (the tiny model has no extra_ids)
};

// Writes `model_folder`/tokenizer/ (vocab.json, merges.txt, tokenizer_config.json,
// special_tokens_map.json) and `model_folder`/tokenizer_2/ (spiece.model,
// tokenizer_config.json, special_tokens_map.json) in the diffusers layout. The same bytes
// every time. Throws omni::Error when a file cannot be written or training fails.
TinyTokenizerSizes write_tiny_tokenizers(
                                         const std::filesystem::path& model_folder);

}  // namespace flux_kontext
