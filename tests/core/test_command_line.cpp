// The omnihost executable: bad command lines and configs get a clear message and a non-zero
// exit, never a crash or a stack trace; good ones run the named trainer's stages.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "omni/device.hpp"
#include "test_support.hpp"

namespace {

using omni::test::quote;
using omni::test::run_host;

const std::string test_plugins = quote(omni::test::test_plugin_dir().string());

void check_clean_failure(const omni::test::CommandResult& result, int expected_exit,
                         const std::string& expected_text) {
  CAPTURE(result.output);
  CHECK(result.exit_code == expected_exit);
  CHECK(result.output.find(expected_text) != std::string::npos);
  CHECK(result.output.find("Exception raised from") == std::string::npos);  // LibTorch trace
  CHECK(result.output.find("terminate called") == std::string::npos);
}

std::string read_file(const std::filesystem::path& file) {
  std::ifstream stream(file);
  std::stringstream text;
  text << stream.rdbuf();
  return text.str();
}

std::string recorder_config(const std::filesystem::path& output, const std::string& message) {
  return "trainer: TestRecorder\ntest:\n  output: " + output.string() + "\n  message: " +
         message + "\n";
}

}  // namespace

TEST_SUITE("command_line") {
  TEST_CASE("usage errors") {
    check_clean_failure(run_host(""), 2, "usage: omnihost <command>");
    check_clean_failure(run_host("frobnicate"), 2,
                        "unknown command 'frobnicate'; known commands: run, validate, plugins");
    check_clean_failure(run_host("run"), 2, "run: missing the CONFIG argument");
    check_clean_failure(run_host("run x.yaml --bogus"), 2, "bogus");
    check_clean_failure(run_host("run x.yaml --bogus"), 2, "does not exist");
    check_clean_failure(run_host("run x.yaml --mode train"), 2,
                        "run: unknown mode 'train'; expected cache, fit, predict or all");
    check_clean_failure(run_host("validate"), 2, "validate: missing the CONFIG argument");
    CHECK(run_host("--help").exit_code == 0);
    CHECK(run_host("run --help").output.find("--resume") != std::string::npos);
  }

  TEST_CASE("bad config files") {
    omni::test::TempDir dir;
    check_clean_failure(run_host("run " + quote((dir.path() / "missing.yaml").string())), 2,
                        "missing.yaml: no such config file");
    auto empty = dir.write("empty.yaml", "");
    check_clean_failure(run_host("run " + quote(empty.string())), 2,
                        "empty.yaml: the config is empty");
    auto broken = dir.write("broken.yaml", "trainer: [unclosed\n");
    check_clean_failure(run_host("validate " + quote(broken.string())), 2,
                        "broken.yaml:2:1: YAML syntax error");
    auto unknown_trainer = dir.write("unknown.yaml", "trainer: NoSuchTrainer\n");
    check_clean_failure(run_host("validate " + quote(unknown_trainer.string())), 2,
                        "unknown.yaml:1:1: trainer: unknown trainer 'NoSuchTrainer'; known "
                        "trainers: DreamOmni2, FluxKontext");
    auto typo = dir.write("typo.yaml", recorder_config(dir.path() / "out.txt", "hi") +
                                           "  devise: cpu\n");
    check_clean_failure(run_host("validate --plugin-path " + test_plugins + " " +
                                 quote(typo.string())),
                        2, "typo.yaml:5:3: unknown key 'test.devise'; expected one of: device, "
                           "message, output");
    auto bad_device = dir.write("device.yaml", recorder_config(dir.path() / "out.txt", "hi") +
                                                   "  device: gpu0\n");
    check_clean_failure(run_host("run --plugin-path " + test_plugins + " " +
                                 quote(bad_device.string())),
                        2, "device.yaml:5:3: test.device: invalid device 'gpu0'");
  }

  TEST_CASE("run executes the stages of the named trainer") {
    omni::test::TempDir dir;
    auto output = dir.path() / "stages.txt";
    auto config = dir.write("job.yaml", recorder_config(output, "hi"));
    auto result = run_host("run --plugin-path " + test_plugins + " " + quote(config.string()) +
                           " --set test.message=overridden --resume latest");
    CAPTURE(result.output);
    CHECK(result.exit_code == 0);
    // The broken test plugins beside the good one are reported, and the run goes on.
    CHECK(result.output.find("warning: plugin") != std::string::npos);
    CHECK(read_file(output) ==
          "cache overridden resume=latest\nfit overridden resume=latest\n"
          "predict overridden resume=latest\n");

    std::filesystem::remove(output);
    CHECK(run_host("run --plugin-path " + test_plugins + " " + quote(config.string()) +
                   " --mode fit")
              .exit_code == 0);
    CHECK(read_file(output) == "fit hi resume=none\n");
  }

  TEST_CASE("failures inside a trainer are reported without a stack trace") {
    omni::test::TempDir dir;
    auto torch_error = dir.write("torch.yaml", recorder_config(dir.path() / "o", "torch-error"));
    check_clean_failure(run_host("run --plugin-path " + test_plugins + " " +
                                 quote(torch_error.string())),
                        1, "omnihost: error: shape '[3]' is invalid for input of size 2");
    auto omni_error = dir.write("omni.yaml", recorder_config(dir.path() / "o", "omni-error"));
    check_clean_failure(run_host("run --plugin-path " + test_plugins + " " +
                                 quote(omni_error.string())),
                        1, "omnihost: error: the recorder was told to fail");
  }

  TEST_CASE("plugins lists loaded and rejected plugins") {
    auto result = run_host("plugins --plugin-path " + test_plugins);
    CAPTURE(result.output);
    CHECK(result.exit_code == 0);
    CHECK(result.output.find("test_good 1.2.3") != std::string::npos);
    CHECK(result.output.find("TestRecorder") != std::string::npos);
    CHECK(result.output.find("DreamOmni2") != std::string::npos);
    CHECK(result.output.find("test_throwing.so: registration failed: the model zoo is closed "
                             "today") != std::string::npos);
    CHECK(result.output.find("rejected (7):") != std::string::npos);
  }

  TEST_CASE("plugin commands are dispatched by their words") {
    auto result = omni::test::run_shell("OMNI_PLUGIN_PATH=" + test_plugins + " " +
                                        quote(omni::test::host_exe().string()) + " test hello world");
    CHECK(result.exit_code == 0);
    CHECK(result.output == "hello world\n");
  }

  TEST_CASE("the release notes' example config validates") {
    // It names cuda:2, which this machine may lack: checked here for everything else.
    auto result = run_host("validate --allow-missing-devices " +
                           quote((omni::test::source_dir() / "configs/dreamomni2_release_example.yaml").string()));
    CAPTURE(result.output);
    CHECK(result.exit_code == 0);
    CHECK(result.output.find("valid (trainer DreamOmni2)") != std::string::npos);
  }

  TEST_CASE("a device this machine lacks is a validation error in every device map") {
    if (omni::check_device("cuda:1").empty()) return;  // a machine with two GPUs: nothing to see
    const std::string example =
        quote((omni::test::source_dir() / "configs/dreamomni2_release_example.yaml").string());
    // Every other device entry on the CPU, then one map at a time names cuda:1.
    std::string on_cpu;
    for (const char* key : {"cache.devices.prompt_enhancer", "predict.devices.prompt_enhancer"}) {
      on_cpu += std::string(" --set ") + key + "=cpu";
    }
    auto fine = run_host("validate " + example + on_cpu);
    CAPTURE(fine.output);
    REQUIRE(fine.exit_code == 0);
    for (const char* key : {"cache.devices.vae", "cache.devices.text_encoder_2",
                            "train.fit_device.dit", "predict.devices.dit",
                            "predict.devices.prompt_enhancer"}) {
      CAPTURE(key);
      auto result = run_host("validate " + example + on_cpu + " --set " + key + "=cuda:1");
      check_clean_failure(result, 2, std::string(key) + ": " + omni::check_device("cuda:1"));
      auto lenient = run_host("validate --allow-missing-devices " + example + on_cpu + " --set " +
                              key + "=cuda:1");
      CAPTURE(lenient.output);
      CHECK(lenient.exit_code == 0);
      CHECK(lenient.output.find("warning: ") != std::string::npos);
    }
  }

  TEST_CASE("a config with several mistakes gets all of them in one run") {
    // The quickstart config with an unknown key, a wrong type and a missing required key.
    std::string text = read_file(omni::test::source_dir() / "configs/quickstart.yaml");
    auto replace = [&](const std::string& from, const std::string& to) {
      std::size_t at = text.find(from);
      REQUIRE(at != std::string::npos);
      text.replace(at, from.size(), to);
    };
    replace("    r: 8\n", "    r: eight\n");
    replace("  pretrained_model_name_or_path: output/quickstart/tiny-model\n", "");
    replace("  log_every: 10\n", "  log_every: 10\n  learning_rate: 0.1\n");
    omni::test::TempDir dir;
    auto config = dir.write("three.yaml", text);
    auto result = run_host("validate " + quote(config.string()));
    check_clean_failure(result, 2, "three.yaml: 3 problems:");
    auto line_of = [&](const std::string& needle) {
      std::size_t at = text.find(needle);
      return std::count(text.begin(), text.begin() + static_cast<long>(at), '\n') + 1;
    };
    const std::string file = config.string();
    CHECK(result.output.find(fmt::format("{}:{}:3: missing required key "
                                         "'model.pretrained_model_name_or_path'",
                                         file, line_of("model:\n") + 1)) != std::string::npos);
    CHECK(result.output.find(fmt::format("{}:{}:5: model.lora.r: expected an integer, got "
                                         "'eight'", file, line_of("r: eight"))) !=
          std::string::npos);
    CHECK(result.output.find(fmt::format("{}:{}:3: unknown key 'train.learning_rate'", file,
                                         line_of("learning_rate"))) != std::string::npos);
  }

  TEST_CASE("the config's threads, mode, resume and plugin_paths are what the host uses") {
    omni::test::TempDir dir;
    auto output = dir.path() / "stages.txt";
    // plugin_paths are relative to the config file.
    const std::string plugins =
        std::filesystem::relative(omni::test::test_plugin_dir(), dir.path()).string();
    const std::string settings = "threads: 1\nmode: fit\nresume: latest\n";
    auto config = dir.write("job.yaml", recorder_config(output, "hi") + settings +
                                            "plugin_paths: [" + plugins + "]\n");
    auto result = run_host("run " + quote(config.string()));
    CAPTURE(result.output);
    REQUIRE(result.exit_code == 0);
    CHECK(result.output.find("fit stage (TestRecorder trainer, 1 threads)") != std::string::npos);
    CHECK(read_file(output) == "fit hi resume=latest\n");  // only fit, told to resume
    // The command line wins over the config.
    std::filesystem::remove(output);
    result = run_host("run " + quote(config.string()) + " --threads 2 --mode predict");
    CHECK(result.output.find("predict stage (TestRecorder trainer, 2 threads)") != std::string::npos);
    CHECK(read_file(output) == "predict hi resume=latest\n");
    // Without plugin_paths the trainer is not found.
    auto without = dir.write("without.yaml", recorder_config(output, "hi") + settings);
    check_clean_failure(run_host("validate " + quote(without.string())), 2,
                        "unknown trainer 'TestRecorder'");
  }
}
