// The tokenizer files: CLIP's vocab.json + merges.txt with tokenizer_config.json and
// special_tokens_map.json (the side files T5's tokenizer reads too), and Qwen2's
// tokenizer.json. Each tokenizer that loads then encodes and decodes a prompt.
#include <string>

#include "flux_kontext/text/clip_tokenizer.hpp"
#include "fuzz_targets.hpp"
#include "omni/error.hpp"
#include "qwen_vl/qwen_tokenizer.hpp"

namespace omni::fuzz {
namespace {

constexpr std::string_view kDefaultPrompt = "a photo of a cat, <|endoftext|> 2 cats!";

std::string_view part_or(const std::vector<std::string_view>& parts, std::size_t index,
                         std::string_view fallback) {
  return index < parts.size() ? parts[index] : fallback;
}

}  // namespace

void clip_tokenizer_files(const std::uint8_t* data, std::size_t size) {
  const std::vector<std::string_view> parts = split_parts(data, size);
  const std::filesystem::path folder = fresh_scratch_folder();
  const char* const files[] = {"vocab.json", "merges.txt", "tokenizer_config.json",
                               "special_tokens_map.json"};
  for (std::size_t i = 0; i < std::size(files) && i < parts.size(); ++i) {
    write_file(folder / files[i], parts[i]);
  }
  const std::string_view prompt = part_or(parts, 4, kDefaultPrompt);
  try {
    flux_kontext::ClipTokenizer tokenizer = flux_kontext::ClipTokenizer::from_folder(folder);
    tokenizer.set_warning_sink([](const std::string&) {});
    const std::vector<std::int64_t> ids = tokenizer.encode(prompt);
    require(ids.size() >= 2 && ids.front() == tokenizer.bos_id() && ids.back() == tokenizer.eos_id(),
            "encode did not frame the ids with the start and end tokens");
    try {
      (void)tokenizer.decode(ids);
    } catch (const omni::Error&) {
    }
    const std::int64_t length = 12;
    flux_kontext::TokenBatch batch = tokenizer.encode_padded({std::string(prompt)}, length);
    require(batch.input_ids.size(0) == 1 && batch.input_ids.size(1) == length,
            "encode_padded did not return one row of the requested length");
  } catch (const omni::Error&) {
  }
}

void qwen_tokenizer_json(const std::uint8_t* data, std::size_t size) {
  const std::vector<std::string_view> parts = split_parts(data, size);
  const std::filesystem::path file = fresh_scratch_folder() / "tokenizer.json";
  write_file(file, parts[0]);
  const std::string_view prompt = part_or(parts, 1, kDefaultPrompt);
  try {
    const qwen_vl::QwenTokenizer tokenizer = qwen_vl::QwenTokenizer::from_file(file);
    const std::vector<std::int64_t> ids = tokenizer.encode(prompt);
    for (std::int64_t id : ids) {
      require(id >= 0, "encode returned a negative id");
    }
    try {
      (void)tokenizer.decode(ids, /*skip_special_tokens=*/false);
      (void)tokenizer.decode(ids, /*skip_special_tokens=*/true);
    } catch (const omni::Error&) {
    }
  } catch (const omni::Error&) {
  }
}

}  // namespace omni::fuzz
