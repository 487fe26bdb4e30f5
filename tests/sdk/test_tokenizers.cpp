// The CLIP and T5 tokenizers: the CLIP algorithm on a hand-made vocabulary whose results are
// worked out by hand, its pre-tokenizer steps against values derived from the upstream
// Python source, and both tokenizers on the tiny files the project trains itself.
#include <algorithm>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include <ATen/ATen.h>

#include "flux_kontext/text/clip_pretokenizer.hpp"
#include "flux_kontext/text/clip_tokenizer.hpp"
#include "flux_kontext/text/t5_tokenizer.hpp"
#include "flux_kontext/quickstart/tiny_tokenizers.hpp"
#include "omni/byte_level_bpe.hpp"
#include "omni/error.hpp"
#include "test_support.hpp"

#include "test_checks.hpp"

namespace {

using omni::test::error_of;
using omni::test::read_file;

using flux_kontext::ClipTokenizer;
using flux_kontext::SpecialTokens;
using flux_kontext::T5Tokenizer;
using Ids = std::vector<std::int64_t>;

template <typename... T>
std::vector<std::string> words(T... items) {
  return {std::string(items)...};
}

template <typename... T>
Ids ids(T... items) {
  return {static_cast<std::int64_t>(items)...};
}

Ids row(const at::Tensor& tensor, std::int64_t index) {
  at::Tensor line = tensor[index].contiguous();
  return Ids(line.data_ptr<std::int64_t>(), line.data_ptr<std::int64_t>() + line.numel());
}

std::string joined_words(const std::string& text) {
  std::string out;
  for (const std::string& word : flux_kontext::clip_split_words(flux_kontext::clip_normalize(text))) {
    out += (out.empty() ? "" : " ") + word;
  }
  return out;
}

// A vocabulary small enough to run BPE by hand. Ranks: (l,o)=0 (lo,w)=1 (e,r</w>)=2
// (lo,w</w>)=3.
const char* kHandVocab = R"({
  "l": 0, "o": 1, "w": 2, "e": 3, "r": 4, "s": 5, "t": 6, "n": 7,
  "l</w>": 8, "o</w>": 9, "w</w>": 10, "e</w>": 11, "r</w>": 12, "s</w>": 13, "t</w>": 14,
  "n</w>": 15, "lo": 16, "low": 17, "er</w>": 18, "low</w>": 19,
  "<|startoftext|>": 20, "<|endoftext|>": 21, "!</w>": 22, ",</w>": 23, "<pad>": 24
})";
const char* kHandMerges = "#version: 0.2\nl o\nlo w\ne r</w>\nlo w</w>\n";
const char* kHandConfig = R"({
  "bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>",
  "unk_token": {"content": "<|endoftext|>", "lstrip": false, "rstrip": false},
  "model_max_length": 8, "clean_up_tokenization_spaces": true
})";

struct HandTokenizer {
  omni::test::TempDir dir;
  std::vector<std::string> warnings;
  ClipTokenizer tokenizer = load();

  ClipTokenizer load() {
    dir.write("vocab.json", kHandVocab);
    dir.write("merges.txt", kHandMerges);
    dir.write("tokenizer_config.json", kHandConfig);
    ClipTokenizer loaded = ClipTokenizer::from_folder(dir.path());
    loaded.set_warning_sink([this](const std::string& message) { warnings.push_back(message); });
    return loaded;
  }
};

// The tiny files are trained once for the whole suite.
struct TinyFiles {
  omni::test::TempDir dir;
  flux_kontext::TinyTokenizerSizes sizes = flux_kontext::write_tiny_tokenizers(dir.path());
};
const TinyFiles& tiny_files() {
  static const TinyFiles files;
  return files;
}

std::string long_prompt() {
  std::string text;
  while (text.size() < 10000) text += "a photo of a cat on the wooden table, in the garden. ";
  return text.substr(0, 10000);
}

}  // namespace

TEST_SUITE("tokenizers") {
  TEST_CASE("the byte stand-ins follow bytes_to_unicode") {
    const auto& table = omni::byte_level_alphabet();
    // Printable Latin-1 bytes map to themselves; 0..32 take U+0100..U+0120, 127..160 take
    // U+0121..U+0142 and 173 takes U+0143 (the order of the upstream loop).
    CHECK(table['a'] == U'a');
    CHECK(table['!'] == U'!');
    CHECK(table['~'] == U'~');
    CHECK(table[0xA1] == U'\u00A1');
    CHECK(table[0xFF] == U'\u00FF');
    CHECK(table[0] == U'\u0100');
    CHECK(table['\n'] == U'\u010A');
    CHECK(table[' '] == U'\u0120');
    CHECK(table[127] == U'\u0121');
    CHECK(table[160] == U'\u0142');
    CHECK(table[173] == U'\u0143');
    std::set<char32_t> distinct(table.begin(), table.end());
    CHECK(distinct.size() == 256);
    CHECK(omni::byte_level_symbols("a b", "</w>") == words("a", "\u0120", "b</w>"));
    CHECK(omni::byte_level_symbols("").empty());
  }

  TEST_CASE("merges apply by rank, every occurrence of the best pair at once") {
    omni::BpeMerges merges;
    merges.add("a", "a");
    merges.add("b", "c");
    merges.add("aa", "a");
    // "aaa": "a a" (rank 0) merges left to right -> aa a -> "aa a" (rank 2) -> aaa.
    CHECK(merges.apply(words("a", "a", "a")) == words("aaa"));
    CHECK(merges.apply(words("a", "a", "a", "a")) == words("aa", "aa"));
    CHECK(merges.apply(words("b", "c", "a")) == words("bc", "a"));

    omni::BpeMerges ordered;
    ordered.add("a", "b");
    ordered.add("b", "c");
    CHECK(ordered.apply(words("a", "b", "c")) == words("ab", "c"));
    // Added again, a pair takes its later rank: "a b" now ranks after "b c".
    ordered.add("a", "b");
    CHECK(ordered.apply(words("a", "b", "c")) == words("a", "bc"));
    CHECK(ordered.size() == 2);
  }

  // Expected values: tokenizers' normalizer of transformers 5's CLIPTokenizer
  // (backend_tokenizer.normalizer.normalize_str).
  TEST_CASE("the normalizer: NFC, white-space runs to one space, lower case") {
    using flux_kontext::clip_normalize;
    CHECK(clip_normalize("  A Photo\tOF\na  CAT \r\n") == " a photo of a cat ");
    CHECK(clip_normalize("") == "");
    CHECK(clip_normalize(" \t\n ") == " ");
    CHECK(clip_normalize("Cafe\u0301 CR\u00C8ME") == "caf\u00E9 cr\u00E8me");  // NFC, lower
    CHECK(clip_normalize("\u6211\u7231\u732B") == "\u6211\u7231\u732B");       // CJK kept whole
    CHECK(clip_normalize("a\x07" "b\u200Dc") == "a\x07" "b\u200Dc");  // controls stay
    CHECK(clip_normalize("a\u00A0b\u2028c") == "a b c");              // White_Space
    CHECK(clip_normalize("STRASSE \u0130") == "strasse i\u0307");     // full lower case
    CHECK(clip_normalize("\u039F\u0394\u039F\u03A3") == "\u03BF\u03B4\u03BF\u03C3");  // no final sigma
    CHECK(clip_normalize("bad\xFF" "byte") == "bad\uFFFD" "byte");     // malformed UTF-8
  }

  // Expected values: backend_tokenizer.pre_tokenizer.pre_tokenize_str (before byte mapping).
  TEST_CASE("the pre-tokenizer keeps the pattern's matches, split again by GPT-2's") {
    using flux_kontext::clip_split_words;
    CHECK(clip_split_words("a photo of 2 cats, isn't it?") ==
          words("a", "photo", "of", "2", "cats", ",", "isn", "'t", "it", "?"));
    CHECK(clip_split_words("123") == words("1", "2", "3"));
    CHECK(clip_split_words("hello!!!world") == words("hello", "!!!", "world"));
    CHECK(clip_split_words("we'll they're i'm you've he'd") ==
          words("we", "'ll", "they", "'re", "i", "'m", "you", "'ve", "he", "'d"));
    CHECK(clip_split_words("'''s") == words("'''", "s"));
    CHECK(clip_split_words("'S") == words("'", "S"));  // case-sensitive (after lower-casing)
    // Spelled out in the text (not as added tokens), GPT-2's pattern splits them.
    CHECK(clip_split_words("<|startoftext|>hi<|endoftext|>") ==
          words("<|", "startoftext", "|>", "hi", "<|", "endoftext", "|>"));
    // A run of punctuation swallows the "<|" before the literal can match.
    CHECK(clip_split_words("!<|endoftext|>") == words("!<|", "endoftext", "|>"));
    CHECK(clip_split_words("caf\u00E9 x\u00B2") == words("caf\u00E9", "x", "\u00B2"));
    CHECK(clip_split_words("e\u0301") == words("e", "\u0301"));  // Mn is neither L nor N
    CHECK(clip_split_words("\U0001F642\U0001F642 ok") == words("\U0001F642\U0001F642", "ok"));
    CHECK(clip_split_words("   ").empty());
  }

  TEST_CASE("BPE on a hand-made vocabulary") {
    HandTokenizer hand;
    const ClipTokenizer& clip = hand.tokenizer;
    // lower: l o w e r</w> -> lo w e r</w> -> low e r</w> -> low er</w>
    CHECK(clip.tokenize("lower") == words("low", "er</w>"));
    // low: l o w</w> -> lo w</w> -> low</w>
    CHECK(clip.tokenize("low") == words("low</w>"));
    CHECK(clip.tokenize("lowest") == words("low", "e", "s", "t</w>"));
    CHECK(clip.tokenize("newer") == words("n", "e", "w", "er</w>"));
    // Only the first "l o" merges: the second o carries </w>, and no rank joins what is left.
    CHECK(clip.tokenize("lolo") == words("lo", "l", "o</w>"));
    CHECK(clip.encode("lolo", SpecialTokens::exclude) == ids(16, 0, 9));
    // "z</w>" is not in the vocabulary: the unk id.
    CHECK(clip.encode("lolz", SpecialTokens::exclude) == ids(16, 0, 21));
    CHECK(clip.encode("lower low") == ids(20, 17, 18, 19, 21));
    CHECK(clip.encode("LOWER, low!") == ids(20, 17, 18, 23, 19, 22, 21));
  }

  TEST_CASE("special tokens come from the files") {
    HandTokenizer hand;
    const ClipTokenizer& clip = hand.tokenizer;
    CHECK(clip.bos_id() == 20);
    CHECK(clip.eos_id() == 21);
    CHECK(clip.pad_id() == 21);
    CHECK(clip.unk_id() == 21);
    CHECK(clip.model_max_length() == 8);
    // Written in the prompt, they are split out before normalization; in upper case they are
    // ordinary text, lower-cased and split into "<|", "endoftext", "|>" (characters missing
    // from this vocabulary become unk, 21). Expected: transformers 5's CLIPTokenizer.
    CHECK(clip.encode("low<|endoftext|>low", SpecialTokens::exclude) == ids(19, 21, 19));
    CHECK(clip.encode("low<|ENDOFTEXT|>", SpecialTokens::exclude) ==
          ids(19, 21, 21, 3, 7, 21, 1, 21, 6, 3, 21, 14, 21, 21));
    // special_tokens_map.json overrides tokenizer_config.json.
    hand.dir.write("special_tokens_map.json", R"({"pad_token": {"content": "<pad>"}})");
    ClipTokenizer padded = ClipTokenizer::from_folder(hand.dir.path());
    CHECK(padded.pad_id() == 24);
    CHECK(row(padded.encode_padded({"low"}).input_ids, 0) == ids(20, 19, 21, 24, 24, 24, 24, 24));
    hand.dir.write("special_tokens_map.json", R"({"pad_token": "<nothing>"})");
    CHECK(error_of([&] { ClipTokenizer::from_folder(hand.dir.path()); })
              .find("vocab.json: has no entry for the pad token '<nothing>'") != std::string::npos);
  }

  TEST_CASE("decode undoes the byte mapping and the end-of-word markers") {
    HandTokenizer hand;
    const ClipTokenizer& clip = hand.tokenizer;
    CHECK(clip.decode(ids(20, 17, 18, 19, 21)) == "<|startoftext|>lower low <|endoftext|>");
    CHECK(clip.decode(ids(20, 17, 18, 19, 21), SpecialTokens::exclude) == "lower low");
    // clean_up_tokenization_spaces: "lower , low !" -> "lower, low!"
    CHECK(clip.decode(clip.encode("Lower, low!"), SpecialTokens::exclude) == "lower, low!");
    CHECK(error_of([&] { clip.decode({999}); }).find("id 999") != std::string::npos);
  }

  TEST_CASE("padding and truncation keep the end token and warn") {
    HandTokenizer hand;
    const ClipTokenizer& clip = hand.tokenizer;
    flux_kontext::TokenBatch batch = clip.encode_padded({"low", "", "lower low"});
    CHECK(batch.input_ids.sizes().vec() == ids(3, 8));
    CHECK((batch.input_ids.scalar_type() == at::kLong));
    CHECK(row(batch.input_ids, 0) == ids(20, 19, 21, 21, 21, 21, 21, 21));
    CHECK(row(batch.attention_mask, 0) == ids(1, 1, 1, 0, 0, 0, 0, 0));
    CHECK(row(batch.input_ids, 1) == ids(20, 21, 21, 21, 21, 21, 21, 21));
    CHECK(row(batch.attention_mask, 1) == ids(1, 1, 0, 0, 0, 0, 0, 0));
    CHECK(row(batch.input_ids, 2) == ids(20, 17, 18, 19, 21, 21, 21, 21));
    CHECK_FALSE(batch.truncated());
    CHECK(hand.warnings.empty());

    batch = clip.encode_padded({"low lower lowest low", "low"}, 5);
    CHECK(row(batch.input_ids, 0) == ids(20, 19, 17, 18, 21));
    CHECK(row(batch.attention_mask, 0) == ids(1, 1, 1, 1, 1));
    CHECK(row(batch.input_ids, 1) == ids(20, 19, 21, 21, 21));
    CHECK(batch.cut_tokens == ids(5, 0));
    REQUIRE(batch.warnings.size() == 1);
    CHECK(batch.warnings[0].find("prompt 0") != std::string::npos);
    CHECK(batch.warnings[0].find("\"lowest low\"") != std::string::npos);
    CHECK(hand.warnings == batch.warnings);
    const std::string too_short = error_of([&] { clip.encode_padded({"low"}, 1); });
    CHECK(too_short.find("max_length 1") != std::string::npos);
  }

  TEST_CASE("missing or malformed files are errors naming the file") {
    omni::test::TempDir dir;
    std::string message = error_of([&] { ClipTokenizer::from_folder(dir.path()); });
    CHECK(message.find((dir.path() / "vocab.json").string()) != std::string::npos);
    CHECK(message.find("missing") != std::string::npos);
    dir.write("vocab.json", kHandVocab);
    message = error_of([&] { ClipTokenizer::from_folder(dir.path()); });
    CHECK(message.find((dir.path() / "merges.txt").string()) != std::string::npos);
    dir.write("merges.txt", kHandMerges);
    dir.write("vocab.json", "{\"a\": ");
    message = error_of([&] { ClipTokenizer::from_folder(dir.path()); });
    CHECK(message.find("vocab.json: not valid JSON") != std::string::npos);
    dir.write("vocab.json", "{\"a\": \"x\"}");
    message = error_of([&] { ClipTokenizer::from_folder(dir.path()); });
    CHECK(message.find("the id of token 'a' is not an integer") != std::string::npos);
    // Found by the clip_tokenizer_files fuzz target: a wrong type in tokenizer_config.json
    // escaped as nlohmann's own exception.
    dir.write("vocab.json", kHandVocab);
    dir.write("tokenizer_config.json", R"({"clean_up_tokenization_spaces": 1})");
    message = error_of([&] { ClipTokenizer::from_folder(dir.path()); });
    CHECK(message.find("tokenizer_config.json: 'clean_up_tokenization_spaces' must be true or "
                       "false, got 1") != std::string::npos);
    dir.write("tokenizer_config.json",
              R"({"added_tokens_decoder": {"5": {"content": "x", "special": "yes"}}})");
    message = error_of([&] { ClipTokenizer::from_folder(dir.path()); });
    CHECK(message.find("'special' must be true or false, got \"yes\"") != std::string::npos);
    std::filesystem::remove(dir.path() / "tokenizer_config.json");

    message = error_of([&] { T5Tokenizer::from_folder(dir.path()); });
    CHECK(message.find((dir.path() / "spiece.model").string()) != std::string::npos);
    dir.write("spiece.model", "not a model");
    message = error_of([&] { T5Tokenizer::from_folder(dir.path()); });
    CHECK(message.find("not a sentencepiece model") != std::string::npos);
  }

  TEST_CASE("the tiny tokenizer files are complete and the same every time") {
    const TinyFiles& files = tiny_files();
    for (const char* name :
         {"tokenizer/vocab.json", "tokenizer/merges.txt", "tokenizer/tokenizer_config.json",
          "tokenizer/special_tokens_map.json", "tokenizer_2/spiece.model",
          "tokenizer_2/tokenizer_config.json", "tokenizer_2/special_tokens_map.json"}) {
      CAPTURE(name);
      CHECK(std::filesystem::is_regular_file(files.dir.path() / name));
    }
    CHECK(files.sizes.clip_merges > 200);
    CHECK(files.sizes.t5_vocab_size == 200);
    omni::test::TempDir again;
    flux_kontext::write_tiny_tokenizers(again.path());
    for (const char* name : {"tokenizer/vocab.json", "tokenizer/merges.txt",
                             "tokenizer_2/spiece.model", "tokenizer_2/tokenizer_config.json"}) {
      CAPTURE(name);
      CHECK(read_file(files.dir.path() / name) == read_file(again.path() / name));
    }
  }

  TEST_CASE("CLIP on the tiny files") {
    const TinyFiles& files = tiny_files();
    ClipTokenizer clip = ClipTokenizer::from_folder(files.dir.path() / "tokenizer");
    std::vector<std::string> warnings;
    clip.set_warning_sink([&](const std::string& message) { warnings.push_back(message); });
    CHECK(clip.vocab_size() == files.sizes.clip_vocab_size);
    CHECK(clip.bos_id() == files.sizes.clip_vocab_size - 2);
    CHECK(clip.eos_id() == files.sizes.clip_vocab_size - 1);
    CHECK(clip.pad_id() == clip.eos_id());
    CHECK(clip.model_max_length() == 77);
    // Frequent corpus words became single tokens.
    CHECK(clip.tokenize("the photo") == words("the</w>", "photo</w>"));

    for (const std::string text :
         {"a photo of a cat", "Make the SKY blue", "caf\u00E9 cr\u00E8me br\u00FBl\u00E9e",
          "\u6211\u7231\u732B and \u3053\u3093\u306B\u3061\u306F",
          "emoji \U0001F642\U0001F680 and \U0001F468\u200D\U0001F469\u200D\U0001F467",
          "numbers 2024 x\u00B2", "\u0394\u03BF\u03BA\u03B9\u03BC\u03AE \u041F\u0440\u0438"}) {
      CAPTURE(text);
      Ids ids = clip.encode(text);
      CHECK(ids.front() == clip.bos_id());
      CHECK(ids.back() == clip.eos_id());
      CHECK(clip.decode(ids, SpecialTokens::exclude) == joined_words(text));
    }

    flux_kontext::TokenBatch empty = clip.encode_padded({""});
    CHECK(empty.input_ids.sizes().vec() == ids(1, 77));
    CHECK(row(empty.input_ids, 0)[0] == clip.bos_id());
    CHECK(row(empty.input_ids, 0)[1] == clip.eos_id());
    CHECK(empty.attention_mask.sum().item<std::int64_t>() == 2);

    flux_kontext::TokenBatch long_batch = clip.encode_padded({long_prompt(), "a cat"});
    CHECK(long_batch.input_ids.sizes().vec() == ids(2, 77));
    CHECK(row(long_batch.input_ids, 0)[76] == clip.eos_id());
    CHECK(row(long_batch.attention_mask, 0) == Ids(77, 1));
    CHECK(long_batch.cut_tokens[0] > 1000);
    CHECK(long_batch.cut_tokens[1] == 0);
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0].find("truncated to 77 tokens") != std::string::npos);
    CHECK(warnings[0].find("wooden table") != std::string::npos);
    // One 10,000-letter word runs BPE over a single long symbol list.
    CHECK(clip.encode(std::string(10000, 'x')).size() > 2);
  }

  TEST_CASE("T5 on the tiny files") {
    const TinyFiles& files = tiny_files();
    T5Tokenizer t5 = T5Tokenizer::from_folder(files.dir.path() / "tokenizer_2");
    std::vector<std::string> warnings;
    t5.set_warning_sink([&](const std::string& message) { warnings.push_back(message); });
    CHECK(t5.pad_id() == 0);
    CHECK(t5.eos_id() == 1);
    CHECK(t5.unk_id() == 2);
    CHECK(t5.vocab_size() == 200);
    CHECK(t5.model_max_length() == 128);  // the tiny pipeline's short T5 length

    for (const std::string text :
         {"a photo of a cat", "make the sky blue and add a few white clouds",
          "turn the day scene into a night scene"}) {
      CAPTURE(text);
      Ids ids = t5.encode(text);
      CHECK(ids.back() == 1);
      CHECK(std::count(ids.begin(), ids.end(), 1) == 1);
      CHECK(std::count(ids.begin(), ids.end(), 0) == 0);
      CHECK(t5.decode(ids, SpecialTokens::exclude) == text);
      CHECK(t5.decode(ids) == text + "</s>");
      CHECK(t5.encode(text, SpecialTokens::exclude) == Ids(ids.begin(), ids.end() - 1));
    }
    // Whitespace is collapsed as sentencepiece's normaliser does.
    CHECK(t5.encode("  a   photo ") == t5.encode("a photo"));
    // Characters the tiny corpus never saw become <unk> without failing.
    Ids unicode_ids = t5.encode("caf\u00E9 \u6211\u7231\u732B \U0001F642");
    CHECK(std::count(unicode_ids.begin(), unicode_ids.end(), 2) >= 1);
    CHECK(unicode_ids.back() == 1);
    // Special tokens written in the prompt map to their ids.
    Ids with_eos = t5.encode("a cat</s>");
    CHECK(with_eos.size() >= 3);
    CHECK(with_eos[with_eos.size() - 2] == 1);

    flux_kontext::TokenBatch batch = t5.encode_padded({"a photo of a cat", ""}, 16);
    CHECK(batch.input_ids.sizes().vec() == ids(2, 16));
    Ids first = row(batch.input_ids, 0);
    Ids expected = t5.encode("a photo of a cat");
    expected.resize(16, 0);
    CHECK(first == expected);
    CHECK(batch.attention_mask[0].sum().item<std::int64_t>() ==
          static_cast<std::int64_t>(t5.encode("a photo of a cat").size()));
    CHECK(row(batch.input_ids, 1) == ids(1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
    CHECK(row(batch.attention_mask, 1)[0] == 1);
    CHECK(batch.attention_mask[1].sum().item<std::int64_t>() == 1);
    CHECK(warnings.empty());

    Ids content = t5.encode("a photo of a cat", SpecialTokens::exclude);
    REQUIRE(content.size() > 3);
    batch = t5.encode_padded({"a photo of a cat"}, 3);
    CHECK(row(batch.input_ids, 0) == ids(content[0], content[1], 1));
    CHECK(batch.cut_tokens[0] == static_cast<std::int64_t>(content.size()) - 2);
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0].find("truncated to 3 tokens") != std::string::npos);

    warnings.clear();
    flux_kontext::TokenBatch long_batch = t5.encode_padded({long_prompt()});
    CHECK(long_batch.input_ids.sizes().vec() == ids(1, 128));
    CHECK(row(long_batch.input_ids, 0)[127] == 1);
    CHECK(long_batch.attention_mask.sum().item<std::int64_t>() == 128);
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0].find("wooden table") != std::string::npos);
  }
}
