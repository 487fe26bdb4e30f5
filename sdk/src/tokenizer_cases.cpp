#include "omni/tokenizer_cases.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "json_file.hpp"
#include "omni/error.hpp"

namespace omni {
namespace {

std::vector<std::int64_t> id_list(const nlohmann::json& entry, const std::filesystem::path& file,
                                  std::size_t index) {
  if (!entry.is_array()) {
    throw Error(fmt::format("{}: ids[{}] must be a list of token ids", file.string(), index));
  }
  std::vector<std::int64_t> ids;
  ids.reserve(entry.size());
  for (const nlohmann::json& id : entry) {
    if (!id.is_number_integer()) {
      throw Error(fmt::format("{}: ids[{}] holds {}, not a token id", file.string(), index,
                              id.dump()));
    }
    ids.push_back(id.get<std::int64_t>());
  }
  return ids;
}

}  // namespace

TokenizerCases read_tokenizer_cases(const std::filesystem::path& file) {
  const nlohmann::json json = detail::read_json_file(file, "tokenizer cases");
  const auto fail = [&](const std::string& what) {
    throw Error(fmt::format("{}: {} (expected {{\"sentences\": [...], \"ids\": [[...], ...]}})",
                            file.string(), what));
  };
  if (!json.is_object()) fail("not a JSON object");
  if (!json.contains("sentences") || !json["sentences"].is_array()) {
    fail("'sentences' must be a list of strings");
  }
  if (!json.contains("ids") || !json["ids"].is_array()) fail("'ids' must be a list of id lists");
  const nlohmann::json& sentences = json["sentences"];
  const nlohmann::json& ids = json["ids"];
  if (sentences.size() != ids.size()) {
    fail(fmt::format("{} sentences but {} id lists", sentences.size(), ids.size()));
  }
  TokenizerCases cases;
  cases.file = file;
  for (std::size_t k = 0; k < sentences.size(); ++k) {
    if (!sentences[k].is_string()) fail(fmt::format("sentences[{}] is not a string", k));
    cases.sentences.push_back(sentences[k].get<std::string>());
    cases.ids.push_back(id_list(ids[k], file, k));
  }
  if (json.contains("add_special_tokens")) {
    if (!json["add_special_tokens"].is_boolean()) fail("'add_special_tokens' must be true or false");
    cases.options.add_special_tokens = json["add_special_tokens"].get<bool>();
  }
  if (json.contains("max_length")) {
    if (!json["max_length"].is_number_integer() || json["max_length"].get<std::int64_t>() < 0) {
      fail("'max_length' must be a non-negative integer (0: no padding or truncation)");
    }
    cases.options.max_length = json["max_length"].get<std::int64_t>();
  }
  return cases;
}

TokenizerComparison compare_with_cases(const Tokenizer& tokenizer, const TokenizerCases& cases,
                                       std::size_t keep) {
  TokenizerComparison comparison;
  comparison.total = cases.sentences.size();
  for (std::size_t k = 0; k < cases.sentences.size(); ++k) {
    std::vector<std::int64_t> ours = tokenizer.encode(cases.sentences[k], cases.options);
    if (ours == cases.ids[k]) {
      ++comparison.matched;
    } else if (comparison.first_mismatches.size() < keep) {
      comparison.first_mismatches.push_back({k, cases.sentences[k], cases.ids[k], std::move(ours)});
    }
  }
  return comparison;
}

std::string describe_comparison(const TokenizerComparison& comparison) {
  std::string text = fmt::format("{} of {} sentences match", comparison.matched, comparison.total);
  for (const TokenizerMismatch& mismatch : comparison.first_mismatches) {
    // JSON quoting shows control characters and white space exactly.
    text += fmt::format("\nsentence {}: {}\n  expected {}\n  ours     {}", mismatch.index,
                        nlohmann::json(mismatch.sentence).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                        mismatch.expected,
                        mismatch.actual);
  }
  const std::size_t unshown =
      comparison.total - comparison.matched - comparison.first_mismatches.size();
  if (unshown > 0) text += fmt::format("\n... and {} more that differ", unshown);
  return text;
}

}  // namespace omni
