// Plugin loading with the test plugins of tests/plugins: the good one loads; each broken
// one is rejected with a one-line reason and the loader goes on with the others.
#include <doctest/doctest.h>

#include <map>

#include "flux_kontext/trainer/flux_kontext_trainer.hpp"
#include "omni/config.hpp"
#include "omni/error.hpp"
#include "omni/plugin_loader.hpp"
#include "omni/registry.hpp"
#include "omni/trainer.hpp"
#include "omni/prompt_enhancer.hpp"
#include "omni/testing.hpp"
#include "test_support.hpp"

namespace {

const std::filesystem::path test_plugins = omni::test::test_plugin_dir();

std::map<std::string, std::string> reasons_by_file(const omni::PluginReport& report) {
  std::map<std::string, std::string> reasons;
  for (const auto& rejected : report.rejected) {
    reasons[rejected.file.filename().string()] = rejected.reason;
  }
  return reasons;
}

}  // namespace

TEST_SUITE("plugin_loading") {
  TEST_CASE("a folder of good and broken plugins") {
    omni::Registry registry;
    omni::PluginLoader loader(registry);
    omni::PluginReport report = loader.load_directories({test_plugins, "/nonexistent/plugins"});

    REQUIRE(report.loaded.size() == 1);
    CHECK(report.loaded[0].name == "test_good");
    CHECK(report.loaded[0].version == "1.2.3");
    CHECK(report.loaded[0].components.size() == 3);
    CHECK(registry.contains(omni::ComponentKind::trainer, "TestRecorder"));
    CHECK_FALSE(registry.contains(omni::ComponentKind::trainer, "TestHalfRegistered"));

    std::map<std::string, std::string> reasons = reasons_by_file(report);
    CHECK(reasons.size() == 7);
    CHECK(reasons["test_good_duplicate.so"] ==
          "registration rejected: duplicate trainer 'TestRecorder': already registered by " +
              (test_plugins / "test_good.so").string());
    CHECK(reasons["test_wrong_abi.so"].find("plugin ABI 3.0 is incompatible with this host's "
                                            "ABI 2.0") == 0);
    CHECK(reasons["test_wrong_fingerprint.so"].find("build mismatch (LibTorch version): host [") ==
          0);
    CHECK(reasons["test_wrong_fingerprint.so"].find("LibTorch 0.0.1-other") != std::string::npos);
    CHECK(reasons["test_no_entry.so"] ==
          "not an omnihost plugin: it exports no 'omni_plugin_descriptor' entry point");
    CHECK(reasons["test_throwing.so"] == "registration failed: the model zoo is closed today");
    CHECK(reasons["test_not_a_library.so"].find("cannot load the library: ") == 0);
    CHECK(reasons["test_not_a_library.so"].find("test_not_a_library.so") != std::string::npos);
    CHECK(reasons["test_missing_dependency.so"].find("libomni_test_vanishing.so") !=
          std::string::npos);
    for (const auto& [file, reason] : reasons) {
      CAPTURE(file);
      CHECK(reason.find('\n') == std::string::npos);
    }
  }

  TEST_CASE("the same plugin found twice is shadowed, not duplicated") {
    omni::test::TempDir copy;
    std::filesystem::copy_file(test_plugins / "test_good.so", copy.path() / "test_good.so");
    omni::Registry registry;
    omni::PluginLoader loader(registry);
    omni::PluginReport report = loader.load_directories({copy.path(), test_plugins, copy.path()});
    CHECK(report.directories.size() == 2);  // the repeated folder is searched once
    REQUIRE(report.shadowed.size() == 1);
    CHECK(report.shadowed[0].file == test_plugins / "test_good.so");
    CHECK(report.shadowed[0].loaded_from == copy.path() / "test_good.so");
  }

  TEST_CASE("the testing harness builds components from YAML") {
    omni::testing::PluginHarness harness(test_plugins / "test_good.so");
    auto enhancer = harness.make_prompt_enhancer("test_uppercase", "{}");
    omni::EnhanceRequest request;
    request.instruction = "make it blue";
    request.images.resize(2);
    CHECK(enhancer->enhance(request) == "MAKE IT BLUE (2 images)");
    CHECK_THROWS_WITH_AS(harness.validate_trainer("TestRecorder", "test:\n  outptu: x\n"),
                         "<test>:2:3: missing required key 'test.output' (a string)",
                         omni::ConfigError);
    CHECK_THROWS_WITH_AS(harness.load(test_plugins / "test_good.so"),
                         doctest::Contains("plugin 'test_good' is already loaded from"),
                         omni::Error);
  }

  TEST_CASE("the real plugins load and register their components") {
    omni::Registry registry;
    omni::PluginLoader loader(registry);
    omni::PluginReport report = loader.load_directories({omni::test::plugin_dir()});
    CHECK(report.rejected.empty());
    CHECK(registry.contains(omni::ComponentKind::trainer, "FluxKontext"));
    CHECK(registry.contains(omni::ComponentKind::trainer, "DreamOmni2"));
    CHECK(registry.contains(omni::ComponentKind::prompt_enhancer, "qwen2_5_vl"));
  }

  TEST_CASE("a trainer of the Kontext family brings its own defaults: DreamOmni2's enhancer suffix") {
    omni::Registry registry;
    omni::PluginLoader loader(registry);
    loader.load_directories({omni::test::plugin_dir()});
    const auto suffix_of = [&](const std::string& trainer) {
      omni::ConfigDocument document = omni::ConfigDocument::from_string(
          "trainer: " + trainer + "\nmodel: {pretrained_model_name_or_path: x}\n", "cfg.yaml");
      const std::unique_ptr<omni::Trainer> made =
          registry.trainer(trainer).create(document.root(), registry);
      const auto* kontext = dynamic_cast<const flux_kontext::FluxKontextTrainer*>(made.get());
      REQUIRE(kontext != nullptr);
      return kontext->config().model.prompt_enhancer_suffix;
    };
    CHECK(suffix_of("DreamOmni2") == " It is editing task.");
    CHECK(suffix_of("FluxKontext").empty());
  }
}
