#pragma once
// The parsers of files a user hands to omnihost, each wrapped as a fuzz target: a function
// that takes arbitrary bytes, turns them into the file(s) that parser reads, runs it, and
// checks what the rest of the program relies on. A parser may refuse any input with
// omni::Error (that is the clear error the user sees); anything else is a bug:
// - a crash or a sanitizer report;
// - another exception escaping (std::bad_alloc, nlohmann::json's or yaml-cpp's own errors,
//   std::out_of_range...), which would reach the user as an unexplained message;
// - a broken promise about the result, thrown as InvariantBroken.
//
// The libFuzzer executables (fuzz/CMakeLists.txt, built with clang) drive these functions,
// and the test suite `fuzz_corpora` replays every committed corpus input through them in
// every build, so a crash once found stays fixed.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "omni/error.hpp"

namespace omni::fuzz {

// A promise about a parser's result that the input made it break.
class InvariantBroken : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};
// Throws InvariantBroken with `what` unless `holds`.
void require(bool holds, const std::string& what);

// Runs `read`; a refusal (omni::Error) is an answer, not a failure.
template <class Read>
void attempt(Read read) {
  try {
    read();
  } catch (const omni::Error&) {
  }
}

// Inputs that stand for several files are the files' contents joined by this line, in the
// order each target documents; a missing part means a missing file.
inline constexpr std::string_view kPartSeparator = "\n----8<----\n";
std::vector<std::string_view> split_parts(const std::uint8_t* data, std::size_t size);

// A folder for the files of one input, emptied before each use (one per process; the
// fuzzers run one input at a time).
const std::filesystem::path& fresh_scratch_folder();
void write_file(const std::filesystem::path& file, std::string_view bytes);

using Target = void (*)(const std::uint8_t* data, std::size_t size);

// YAML text, then optionally `key.path=value` overrides, one per line.
void config_yaml(const std::uint8_t* data, std::size_t size);
// A PNG or JPEG file.
void image_file(const std::uint8_t* data, std::size_t size);
// vocab.json, merges.txt, tokenizer_config.json, special_tokens_map.json, a prompt.
void clip_tokenizer_files(const std::uint8_t* data, std::size_t size);
// tokenizer.json, a prompt.
void qwen_tokenizer_json(const std::uint8_t* data, std::size_t size);
// A config.json, read as each model's config (Flux transformer, VAE, CLIP text, T5, Qwen2.5-VL).
void model_config_json(const std::uint8_t* data, std::size_t size);
// A manifest, read as .csv and as .jsonl, in a dataset folder with a few images, a
// subfolder and a symbolic link that leads out of it.
void dataset_manifest(const std::uint8_t* data, std::size_t size);

struct NamedTarget {
  const char* name;  // also the corpus folder: fuzz/corpus/<name>
  Target run;
};
inline constexpr NamedTarget kTargets[] = {
    {"config_yaml", config_yaml},
    {"image_file", image_file},
    {"clip_tokenizer_files", clip_tokenizer_files},
    {"qwen_tokenizer_json", qwen_tokenizer_json},
    {"model_config_json", model_config_json},
    {"dataset_manifest", dataset_manifest},
};

}  // namespace omni::fuzz
