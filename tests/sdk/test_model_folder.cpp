// Model folders: diffusers folders by local path, and repo ids resolved through a Hugging
// Face cache laid out here (refs, snapshots, missing revisions and models).

#include <cstdlib>
#include <functional>
#include <optional>

#include <nlohmann/json.hpp>

#include "omni/error.hpp"
#include "omni/json_config.hpp"
#include "omni/model_folder.hpp"
#include "test_checks.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;

namespace {

using omni::test::error_of;

// Sets (or unsets, with nullopt) an environment variable for the scope of one test.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value->c_str(), 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

constexpr const char* kHash = "0123456789abcdef0123456789abcdef01234567";
constexpr const char* kOldHash = "fedcba9876543210fedcba9876543210fedcba98";

// A cache holding org/tiny at two revisions: main (kHash) and v1 (kOldHash).
void lay_out_cache(const omni::test::TempDir& hub) {
  const std::string repo = "models--org--tiny/";
  hub.write(repo + "refs/main", std::string(kHash) + "\n");
  hub.write(repo + "refs/v1", kOldHash);
  for (const char* hash : {kHash, kOldHash}) {
    const std::string snapshot = repo + "snapshots/" + hash + "/";
    hub.write(snapshot + "model_index.json",
              R"({"_class_name": "FluxKontextPipeline", "transformer": ["diffusers", "X"],
                  "vae": ["diffusers", "AutoencoderKL"], "image_encoder": [null, null]})");
    hub.write(snapshot + "transformer/config.json",
              std::string(R"({"num_layers": )") + (hash == kHash ? "19" : "1") + "}");
    hub.write(snapshot + "vae/config.json", R"({"latent_channels": 16})");
  }
}

}  // namespace

TEST_SUITE("model_folder") {
  TEST_CASE("config.json integers: whole floats pass, values beyond the type are refused") {
    const omni::JsonConfig config(nlohmann::json::parse(R"({
      "whole": 1000.0, "big": 1e300, "negative": -5, "past_int64": 18446744073709551615,
      "sizes": [8, 16.0], "huge_in_list": [8, 7777777777777777777777777], "half": [1, 2.5]
    })"), "vae/config.json");
    CHECK(config.get<std::int64_t>("whole") == 1000);
    CHECK(config.get<int>("negative") == -5);
    CHECK(config.get<std::vector<std::int64_t>>("sizes") == std::vector<std::int64_t>{8, 16});
    // Found by the model_config_json fuzz target: converting these was undefined behaviour.
    CHECK_THROWS_WITH_AS(config.get<std::int64_t>("big"),
                         "vae/config.json: key 'big': expected an integer, got 1e+300", omni::Error);
    CHECK_THROWS_WITH_AS(config.get<std::int64_t>("past_int64"),
                         "vae/config.json: key 'past_int64': expected an integer, got "
                         "18446744073709551615",
                         omni::Error);
    CHECK_THROWS_WITH_AS(config.get<std::uint32_t>("negative"),
                         "vae/config.json: key 'negative': expected an integer, got -5", omni::Error);
    CHECK_THROWS_WITH_AS(config.get<std::vector<std::int64_t>>("huge_in_list"),
                         doctest::Contains("key 'huge_in_list': expected a list of integers, got [8,"),
                         omni::Error);
    CHECK_THROWS_WITH_AS(config.get<std::vector<std::int64_t>>("half"),
                         "vae/config.json: key 'half': expected a list of integers, got [1,2.5]",
                         omni::Error);
  }

  TEST_CASE("the fixture folder opens by path with its components and configs") {
    const fs::path root = omni::test::fixtures_dir() / "flux" / "tiny-flux-kontext";
    const omni::ModelFolder folder = omni::ModelFolder::open(root.string());
    CHECK(folder.root() == root);
    CHECK(folder.components() == std::vector<std::string>{"scheduler", "transformer", "vae"});
    CHECK(folder.component("vae") == root / "vae");
    CHECK(folder.config("transformer")["num_layers"] == 2);
    CHECK(folder.config("scheduler")["_class_name"] == "FlowMatchEulerDiscreteScheduler");
    CHECK(folder.model_index()["_class_name"] == "FluxKontextPipeline");

    const std::string missing = error_of([&] { folder.component("text_encoder"); });
    CHECK_HAS(missing, "no component 'text_encoder'");
    CHECK_HAS(missing, "scheduler, transformer, vae");

    // One model of the folder on its own.
    const omni::ModelFolder single = omni::ModelFolder::open(root.string(), "main", "vae");
    CHECK(single.components().empty());
    CHECK(single.config("")["latent_channels"] == 16);
    CHECK_HAS(error_of([&] { single.model_index(); }), "no model_index.json");
  }

  TEST_CASE("broken and incomplete local folders give clear errors") {
    omni::test::TempDir dir;
    CHECK_HAS(error_of([&] { omni::ModelFolder::open(dir.path().string()); }),
              "is not a diffusers folder");
    CHECK_HAS(error_of([&] { omni::ModelFolder::open((dir.path() / "absent").string()); }),
              "does not exist");
    dir.write("model_index.json", R"({"transformer": ["diffusers", "X"], "vae": ["diffusers",)");
    CHECK_HAS(error_of([&] { omni::ModelFolder::open(dir.path().string()); }),
              "is not valid JSON: parse error at line 1");
    dir.write("model_index.json", R"({"transformer": ["diffusers", "X"], "vae": ["diffusers", "Y"]})");
    dir.write("transformer/config.json", "{\n  \"a\": 1,\n  oops\n}");
    const omni::ModelFolder folder = omni::ModelFolder::open(dir.path().string());
    const std::string bad_config = error_of([&] { folder.config("transformer"); });
    CHECK_HAS(bad_config, (dir.path() / "transformer" / "config.json").string());
    CHECK_HAS(bad_config, "line 3");
    CHECK_HAS(error_of([&] { folder.component("vae"); }), "folder '");
    CHECK_HAS(error_of([&] { omni::ModelFolder::open(dir.path().string(), "main", "../x"); }),
              "no subfolder '../x'");
  }

  TEST_CASE("repo ids resolve through the Hugging Face cache") {
    omni::test::TempDir hub;
    lay_out_cache(hub);
    ScopedEnv cache("HF_HUB_CACHE", hub.path().string());
    const fs::path snapshots = hub.path() / "models--org--tiny" / "snapshots";

    CHECK(omni::hf_hub_cache() == hub.path());
    CHECK(omni::resolve_hf_snapshot("org/tiny") == snapshots / kHash);
    CHECK(omni::resolve_hf_snapshot("org/tiny", "v1") == snapshots / kOldHash);
    CHECK(omni::resolve_hf_snapshot("org/tiny", kOldHash) == snapshots / kOldHash);

    const omni::ModelFolder main = omni::ModelFolder::open("org/tiny");
    CHECK(main.root() == snapshots / kHash);
    CHECK(main.components() == std::vector<std::string>{"transformer", "vae"});
    CHECK(main.config("transformer")["num_layers"] == 19);
    CHECK_HAS(main.description(), "org/tiny");
    CHECK(omni::ModelFolder::open("org/tiny", "v1").config("transformer")["num_layers"] == 1);
    const omni::ModelFolder vae = omni::ModelFolder::open("org/tiny", "main", "vae");
    CHECK(vae.root() == snapshots / kHash / "vae");

    SUBCASE("a missing revision lists what is cached and how to fetch it") {
      const std::string message = error_of([] { omni::ModelFolder::open("org/tiny", "v2"); });
      CHECK_HAS(message, "revision 'v2' is not in the Hugging Face cache");
      CHECK_HAS(message, "refs/v2");
      CHECK_HAS(message, "main (" + std::string(kHash) + ")");
      CHECK_HAS(message, "hf download org/tiny --revision v2");
    }
    SUBCASE("a ref pointing to a missing snapshot") {
      hub.write("models--org--tiny/refs/broken", "deadbeef");
      const std::string message = error_of([] { omni::resolve_hf_snapshot("org/tiny", "broken"); });
      CHECK_HAS(message, "points to snapshot 'deadbeef'");
    }
    SUBCASE("a missing model says where it looked and what would fetch it") {
      const std::string message = error_of([] { omni::ModelFolder::open("org/absent"); });
      CHECK_HAS(message, (hub.path() / "models--org--absent").string());
      CHECK_HAS(message, "HF_HUB_CACHE");
      CHECK_HAS(message, "`hf download org/absent`");
    }
    SUBCASE("something neither a folder nor a repo id") {
      CHECK_HAS(error_of([] { omni::ModelFolder::open("no such/thing/here"); }), "does not exist");
      CHECK_HAS(error_of([] { omni::resolve_hf_snapshot("org/tiny", "../../etc"); }),
                "not a valid revision");
    }
  }

  TEST_CASE("the cache folder follows HF_HUB_CACHE, then HF_HOME, then the home folder") {
    omni::test::TempDir home;
    {
      ScopedEnv hub("HF_HUB_CACHE", std::nullopt);
      ScopedEnv hf_home("HF_HOME", (home.path() / "hf").string());
      CHECK(omni::hf_hub_cache() == home.path() / "hf" / "hub");
      omni::test::TempDir layout;  // lay the cache out under HF_HOME/hub
      lay_out_cache(layout);
      fs::create_directories(home.path() / "hf");
      fs::rename(layout.path(), home.path() / "hf" / "hub");
      CHECK(omni::ModelFolder::open("org/tiny").root() ==
            home.path() / "hf" / "hub" / "models--org--tiny" / "snapshots" / kHash);
      fs::create_directories(layout.path());  // for the TempDir to remove
    }
    {
      ScopedEnv hub("HF_HUB_CACHE", std::nullopt);
      ScopedEnv hf_home("HF_HOME", std::nullopt);
      ScopedEnv xdg("XDG_CACHE_HOME", std::nullopt);
      ScopedEnv user_home("HOME", home.path().string());
      CHECK(omni::hf_hub_cache() == home.path() / ".cache" / "huggingface" / "hub");
      CHECK_HAS(error_of([] { omni::ModelFolder::open("org/tiny"); }), "the default");
    }
  }
}
