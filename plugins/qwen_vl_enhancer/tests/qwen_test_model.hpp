#pragma once
// The tiny Qwen2.5-VL fixture (../shared/fixtures/vlm/qwen2_5_vl_tiny) made into a complete
// model folder for the enhancer: its config and weights plus a made-up tokenizer.json.
#include <cstdint>
#include <filesystem>

#include <nlohmann/json.hpp>

namespace qwen_test {

// Bytes 0..255 as ids 0..255 (their byte-level characters), a few merges, filler tokens up to
// `vocab`, and Qwen's special tokens at the ids the tiny fixture model uses.
nlohmann::json tiny_tokenizer_json(std::int64_t vocab = 2048);

// `folder`/config.json (a copy), model.safetensors (a link to the fixture) and, with
// `with_tokenizer`, tokenizer.json.
void write_tiny_vlm_folder(const std::filesystem::path& folder, bool with_tokenizer = true);

}  // namespace qwen_test
