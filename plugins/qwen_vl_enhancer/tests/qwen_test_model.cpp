#include "qwen_test_model.hpp"

#include <fstream>
#include <map>
#include <string>

#include <fmt/format.h>

#include "omni/byte_level_bpe.hpp"
#include "qwen_vl/qwen_pretokenizer.hpp"
#include "test_support.hpp"

namespace qwen_test {

nlohmann::json tiny_tokenizer_json(std::int64_t vocab) {
  nlohmann::json vocab_json = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab_json[omni::bytes_to_byte_level(std::string(1, static_cast<char>(b)))] = b;
  const std::vector<std::pair<std::string, std::string>> merges = {
      {"h", "e"}, {"l", "l"}, {"he", "ll"}, {"hell", "o"}, {"Ġ", "w"}, {"o", "r"}, {"Ġw", "or"}};
  std::int64_t id = 256;
  nlohmann::json merges_json = nlohmann::json::array();
  for (const auto& [a, b] : merges) {
    vocab_json[a + b] = id++;
    merges_json.push_back({a, b});
  }
  const std::map<std::int64_t, std::string> specials = {
      {2020, "<|endoftext|>"}, {2021, "<|im_start|>"}, {2022, "<|im_end|>"},
      {2029, "<|vision_start|>"}, {2030, "<|vision_end|>"}, {2031, "<|vision_pad|>"},
      {2032, "<|image_pad|>"}, {2033, "<|video_pad|>"}};
  nlohmann::json added = nlohmann::json::array();
  for (; id < vocab; ++id) {
    auto special = specials.find(id);
    if (special != specials.end()) {
      added.push_back({{"id", id}, {"content", special->second}, {"special", true}});
    } else {
      vocab_json[fmt::format("filler{}", id)] = id;
    }
  }
  return {{"version", "1.0"},
          {"added_tokens", added},
          {"model", {{"type", "BPE"}, {"vocab", vocab_json}, {"merges", merges_json}}}};
}

void write_tiny_vlm_folder(const std::filesystem::path& folder, bool with_tokenizer) {
  const std::filesystem::path fixture =
      omni::test::fixtures_dir() / "vlm" / "qwen2_5_vl_tiny";
  std::filesystem::create_directories(folder);
  std::filesystem::copy_file(fixture / "config.json", folder / "config.json");
  std::filesystem::create_symlink(fixture / "model.safetensors", folder / "model.safetensors");
  if (with_tokenizer) std::ofstream(folder / "tokenizer.json") << tiny_tokenizer_json().dump();
}

}  // namespace qwen_test
