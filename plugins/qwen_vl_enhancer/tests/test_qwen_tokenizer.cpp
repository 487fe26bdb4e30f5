// Qwen2's tokenizer (pre-tokenizer pattern, byte-level BPE, added tokens), the chat template
// and the qwen2_5_vl prompt enhancer on the tiny fixture model with a made-up vocabulary.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>

#include <ATen/ATen.h>

#include "omni/error.hpp"
#include "omni/safetensors.hpp"
#include "qwen_test_model.hpp"
#include "qwen_vl/qwen_chat_template.hpp"
#include "omni/byte_level_bpe.hpp"
#include "qwen_vl/qwen_pretokenizer.hpp"
#include "qwen_vl/qwen_tokenizer.hpp"
#include "qwen_vl/qwen_vl_enhancer.hpp"
#include "test_support.hpp"

namespace {

const std::filesystem::path vlm_fixtures = omni::test::fixtures_dir() / "vlm";

using Pieces = std::vector<std::string>;

std::filesystem::path write_tokenizer(const omni::test::TempDir& dir) {
  return dir.write("tokenizer.json", qwen_test::tiny_tokenizer_json().dump());
}

}  // namespace

TEST_SUITE("qwen_vl") {
  TEST_CASE("the Qwen2 pre-tokenizer splits as its pattern does") {
    CHECK(qwen_vl::qwen2_pretokenize("Hello world") == Pieces{"Hello", " world"});
    // Digits one at a time; a space before a digit stands alone; contractions split off.
    CHECK(qwen_vl::qwen2_pretokenize("I'm 123 ok") == Pieces{"I", "'m", " ", "1", "2", "3", " ok"});
    CHECK(qwen_vl::qwen2_pretokenize("WE'LL GO") == Pieces{"WE", "'LL", " GO"});
    // \s+(?!\S) leaves the last space to the next word.
    CHECK(qwen_vl::qwen2_pretokenize("a  b") == Pieces{"a", " ", " b"});
    CHECK(qwen_vl::qwen2_pretokenize("x\n\ny") == Pieces{"x", "\n\n", "y"});
    CHECK(qwen_vl::qwen2_pretokenize("hi!!\n") == Pieces{"hi", "!!\n"});
    CHECK(qwen_vl::qwen2_pretokenize(" \n  ") == Pieces{" \n", "  "});
    CHECK(qwen_vl::qwen2_pretokenize("a ...b") == Pieces{"a", " ...", "b"});
    CHECK(qwen_vl::qwen2_pretokenize("(x)") == Pieces{"(x", ")"});
    CHECK(qwen_vl::qwen2_pretokenize("日本語 ok") == Pieces{"日本語", " ok"});
    CHECK(qwen_vl::qwen2_pretokenize("") == Pieces{});
  }

  TEST_CASE("byte-level mapping round-trips every byte") {
    std::string all;
    for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
    CHECK(omni::bytes_to_byte_level(" ") == "Ġ");
    CHECK(omni::bytes_to_byte_level("\n") == "Ċ");
    CHECK(omni::byte_level_to_bytes(omni::bytes_to_byte_level(all)) == all);
  }

  TEST_CASE("the tokenizer applies merges by rank and cuts out added tokens") {
    omni::test::TempDir dir;
    const qwen_vl::QwenTokenizer tokenizer = qwen_vl::QwenTokenizer::from_file(write_tokenizer(dir));
    const std::int64_t hello = 259, world_prefix = 262;  // "hello", "Ġwor"
    CHECK(tokenizer.encode("hello") == std::vector<std::int64_t>{hello});
    CHECK(tokenizer.encode("<|im_start|>hello world<|im_end|>") ==
          std::vector<std::int64_t>{2021, hello, world_prefix, 'l', 'd', 2022});
    CHECK(tokenizer.require_id("<|image_pad|>") == 2032);
    CHECK_THROWS_WITH_AS(tokenizer.require_id("<|nope|>"), doctest::Contains("<|nope|>"),
                         omni::Error);
    const std::string text = "héllo wörld 日本 🎉 123\n\tend <|im_end|>";
    const std::vector<std::int64_t> ids = tokenizer.encode(text);
    CHECK(tokenizer.decode(ids, false) == text);
    CHECK(tokenizer.decode(ids, true) == "héllo wörld 日本 🎉 123\n\tend ");
    // NFC: a decomposed é encodes like the composed one.
    CHECK(tokenizer.encode("he\xCC\x81") == tokenizer.encode("h\xC3\xA9"));
    CHECK_THROWS_WITH_AS(tokenizer.decode({5000}, false), doctest::Contains("5000"), omni::Error);
  }

  TEST_CASE("a malformed tokenizer.json is an error naming the file") {
    omni::test::TempDir dir;
    const auto bad = dir.write("tokenizer.json", R"({"model": {"type": "BPE", "vocab": {}}})");
    CHECK_THROWS_WITH_AS(qwen_vl::QwenTokenizer::from_file(bad),
                         doctest::Contains("tokenizer.json"), omni::Error);
    CHECK_THROWS_WITH_AS(qwen_vl::QwenTokenizer::from_file(dir.path() / "missing.json"),
                         doctest::Contains("missing.json"), omni::Error);
    // Wrong types where the file format says what to expect: clear errors, not nlohmann's.
    const auto wrong_type = dir.write(
        "typed.json", R"({"model": {"type": 3, "vocab": {}, "merges": []}})");
    CHECK_THROWS_WITH_AS(qwen_vl::QwenTokenizer::from_file(wrong_type),
                         doctest::Contains("expected a BPE \"model\""), omni::Error);
    const auto bad_added = dir.write(
        "added.json", R"({"model": {"vocab": {}, "merges": []}, "added_tokens": [{"content": 1, "id": 2}]})");
    CHECK_THROWS_WITH_AS(qwen_vl::QwenTokenizer::from_file(bad_added),
                         doctest::Contains("needs a string \"content\" and an integer \"id\""),
                         omni::Error);
    const auto bad_special = dir.write(
        "special.json",
        R"({"model": {"vocab": {}, "merges": []}, "added_tokens": [{"content": "a", "id": 2, "special": 1}]})");
    CHECK_THROWS_WITH_AS(qwen_vl::QwenTokenizer::from_file(bad_special),
                         doctest::Contains("\"special\" must be true or false"), omni::Error);
  }

  TEST_CASE("the chat template and image pads give the fixture prompt's layout") {
    omni::test::TempDir dir;
    const qwen_vl::QwenTokenizer tokenizer = qwen_vl::QwenTokenizer::from_file(write_tokenizer(dir));
    auto cases = omni::SafetensorsFile::open(vlm_fixtures / "qwen2_5_vl_cases.safetensors");
    const at::Tensor grid = cases->tensor("two_images.image_grid_thw");
    const std::vector<std::int64_t> ids = qwen_vl::expand_image_pads(
        tokenizer.encode(qwen_vl::user_turn_prompt(2, "hello")), 2032, grid, 2);
    // The fixture's special tokens sit in the same order: compare the specials-only sequences.
    const at::Tensor fixture = cases->tensor("two_images.input_ids").flatten();
    std::vector<std::int64_t> fixture_specials, our_specials;
    for (std::int64_t k = 0; k < fixture.size(0); ++k) {
      if (fixture[k].item<std::int64_t>() >= 2020) fixture_specials.push_back(fixture[k].item<std::int64_t>());
    }
    for (std::int64_t id : ids) {
      if (id >= 2020) our_specials.push_back(id);
    }
    CHECK(our_specials == fixture_specials);
    CHECK(std::count(ids.begin(), ids.end(), 2032) == 6 + 32);
    CHECK_THROWS_AS(qwen_vl::expand_image_pads({2032}, 2032, grid, 2), omni::Error);
  }

  TEST_CASE("the qwen2_5_vl enhancer runs the tiny model and names its settings") {
    omni::test::TempDir dir;
    const std::filesystem::path model = dir.path() / "vlm-model";
    qwen_test::write_tiny_vlm_folder(model, /*with_tokenizer=*/false);
    qwen_vl_enhancer::QwenVlOptions options;
    options.model = dir.path().string();
    options.subfolder = "vlm-model";
    options.dtype = "fp32";
    options.max_new_tokens = 6;
    // Without tokenizer.json: a clear error naming it.
    CHECK_THROWS_WITH_AS(qwen_vl::QwenVlEnhancer{options}, doctest::Contains("tokenizer.json"),
                         omni::Error);
    std::ofstream(model / "tokenizer.json") << qwen_test::tiny_tokenizer_json().dump();

    qwen_vl::QwenVlEnhancer enhancer(options);
    auto cases = omni::SafetensorsFile::open(vlm_fixtures / "qwen2_5_vl_cases.safetensors");
    const at::Tensor rgb = cases->tensor("one_image.image_0").contiguous();
    omni::EnhanceRequest request;
    omni::Image image;
    image.height = static_cast<int>(rgb.size(0));
    image.width = static_cast<int>(rgb.size(1));
    image.pixels.assign(rgb.data_ptr<std::uint8_t>(), rgb.data_ptr<std::uint8_t>() + rgb.numel());
    request.images = {image};
    request.instruction = "hello world";
    const std::string first = enhancer.enhance(request);
    CHECK(enhancer.enhance(request) == first);  // greedy: deterministic
    MESSAGE("tiny enhancer answer: " << first);

    const std::string identity = enhancer.identity();
    CHECK(identity.find("qwen2_5_vl:") == 0);
    CHECK(identity.find("config.json:crc=") != std::string::npos);
    CHECK(identity.find("max_new_tokens=6") != std::string::npos);
    options.max_new_tokens = 7;
    CHECK(qwen_vl::QwenVlEnhancer(options).identity() != identity);

    options.max_new_tokens = 4090;  // prompt + answer beyond the 4096-token context
    qwen_vl::QwenVlEnhancer long_answer(options);
    CHECK_THROWS_WITH_AS(long_answer.enhance(request), doctest::Contains("context"), omni::Error);
    omni::EnhanceRequest tiny_image = request;
    tiny_image.images[0].width = 10;
    tiny_image.images[0].height = 10;
    tiny_image.images[0].pixels.resize(10 * 10 * 3);
    CHECK_THROWS_WITH_AS(enhancer.enhance(tiny_image), doctest::Contains("too small"),
                         omni::Error);
  }
}
