// `omnihost debug tokenize`: runs a tokenizer that some plugin registered (clip, t5, qwen, ...)
// on text, or on a file of reference encodings written by the Python libraries.
#include <iostream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "command_line.hpp"
#include "commands.hpp"
#include "omni/plugin_loader.hpp"
#include "omni/registry.hpp"
#include "omni/tokenizer_cases.hpp"
#include "plugin_search.hpp"

namespace omni::host {

int tokenize_command(const std::vector<std::string>& arguments) {
  cxxopts::Options options(
      "omnihost debug tokenize",
      "Encode text with a registered tokenizer, or compare it with reference encodings: "
      "--cases FILE ({\"sentences\": [...], \"ids\": [[...], ...]}) prints how many sentences "
      "match and the first that differ, and exits with 1 on any difference.");
  options.add_options()
      ("tokenizer", "a registered tokenizer: clip, t5, qwen, ... (see `omnihost plugins`)",
       cxxopts::value<std::string>())
      ("files", "the tokenizer's folder or file, or a model folder holding it",
       cxxopts::value<std::string>())
      ("cases", "reference encodings to compare with", cxxopts::value<std::string>())
      ("text", "text to encode (repeatable); prints its ids", cxxopts::value<std::vector<std::string>>())
      ("add-special-tokens", "add the start/end tokens (for --text)")
      ("max-length", "pad and truncate to this many ids (for --text; 0: none)",
       cxxopts::value<std::int64_t>()->default_value("0"))
      ("show", "how many differing sentences to print", cxxopts::value<std::size_t>()->default_value("5"));
  add_plugin_path_options(options);
  const std::optional<cxxopts::ParseResult> result =
      parse_plugin_command(options, arguments, "debug tokenize");
  if (!result) return 0;
  const cxxopts::ParseResult& parsed = *result;
  for (const char* required : {"tokenizer", "files"}) {
    if (parsed.count(required) == 0) {
      throw UsageError(fmt::format("debug tokenize: --{} is required", required));
    }
  }
  if ((parsed.count("cases") > 0) == (parsed.count("text") > 0)) {
    throw UsageError("debug tokenize: give either --cases FILE or --text (not both)");
  }
  Registry registry;
  PluginLoader loader(registry);
  loader.load_directories(plugin_search_path(plugin_paths_of(parsed), {}));
  const TokenizerFactory& factory = registry.tokenizer(parsed["tokenizer"].as<std::string>());
  const std::unique_ptr<Tokenizer> tokenizer =
      factory.open(std::filesystem::path(parsed["files"].as<std::string>()));

  if (parsed.count("text")) {
    TokenizeOptions encode_options;
    encode_options.add_special_tokens = parsed.count("add-special-tokens") > 0;
    encode_options.max_length = parsed["max-length"].as<std::int64_t>();
    if (encode_options.max_length < 0) throw UsageError("debug tokenize: --max-length must be >= 0");
    for (const std::string& text : parsed["text"].as<std::vector<std::string>>()) {
      std::cout << fmt::format("{}\n", tokenizer->encode(text, encode_options));
    }
    return 0;
  }
  const TokenizerCases cases = read_tokenizer_cases(parsed["cases"].as<std::string>());
  const TokenizerComparison comparison =
      compare_with_cases(*tokenizer, cases, parsed["show"].as<std::size_t>());
  std::cout << fmt::format("{} tokenizer on {}: {}\n", factory.name, cases.file.string(),
                           describe_comparison(comparison));
  return comparison.all_match() ? 0 : exit_failure;
}

}  // namespace omni::host
