// Replays every committed fuzzing input (fuzz/corpus/<target>/: seeds, inputs that reached new
// code, and the crash-* inputs of bugs found and fixed) through the fuzz targets, in every
// build: a parser may refuse an input with omni::Error, nothing else. The libFuzzer builds
// (scripts/fuzz.sh) do the same under AddressSanitizer and UndefinedBehaviorSanitizer.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz_targets.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

TEST_SUITE("fuzz_corpora") {
  TEST_CASE("every corpus input of every fuzz target is parsed or refused with omni::Error") {
    for (const omni::fuzz::NamedTarget& target : omni::fuzz::kTargets) {
      const fs::path corpus = omni::test::source_dir() / "fuzz" / "corpus" / target.name;
      CAPTURE(corpus.string());
      REQUIRE(fs::is_directory(corpus));
      std::size_t inputs = 0;
      for (const auto& entry : fs::directory_iterator(corpus)) {
        if (!entry.is_regular_file()) continue;
        CAPTURE(entry.path().filename().string());
        std::ifstream in(entry.path(), std::ios::binary);
        const std::vector<char> bytes{std::istreambuf_iterator<char>(in), {}};
        CHECK_NOTHROW(target.run(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
        ++inputs;
      }
      // The seeds alone are more than this; an emptied folder must not pass silently.
      CHECK(inputs >= 2);
      MESSAGE(std::string(target.name) << ": " << inputs << " inputs");
    }
  }

  TEST_CASE("the fuzz targets see a broken promise as a failure") {
    // The targets report a broken promise by throwing InvariantBroken, which they never catch
    // (they catch omni::Error only), so the replay above and the fuzzers both see it.
    CHECK_THROWS_AS(omni::fuzz::require(false, "test"), omni::fuzz::InvariantBroken);
    CHECK_NOTHROW(omni::fuzz::require(true, "test"));
  }
}
