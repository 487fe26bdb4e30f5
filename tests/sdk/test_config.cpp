// The strict config: every kind of mistake gets one exact message with file:line:column,
// the key path and what was expected.
#include <doctest/doctest.h>

#include "omni/config.hpp"
#include "omni/device.hpp"

namespace {

// A small schema standing in for a plugin's: the shape of a LoRA section.
void read_schema(const omni::ConfigView& root) {
  root.get<std::string>("trainer");
  omni::ConfigView model = root.child("model");
  model.get<std::string>("pretrained_model_name_or_path");
  omni::ConfigView lora = model.child_or_empty("lora");
  lora.get<int>("r", 16);
  lora.get<double>("lora_alpha", 16.0);
  lora.get_enum("init_lora_weights", {"gaussian", "zero"}, "gaussian");
  lora.get<std::vector<std::string>>("target_modules", {});
  omni::ConfigView devices = root.child_or_empty("cache").child_or_empty("devices");
  devices.get_device("vae", "cpu");
  root.child_or_empty("train").get<bool>("gradient_checkpointing", true);
}

std::string error_of(const std::string& yaml, std::vector<std::string> overrides = {}) {
  try {
    omni::ConfigDocument document = omni::ConfigDocument::from_string(yaml, "cfg.yaml");
    for (const auto& assignment : overrides) document.apply_override(assignment);
    document.resolve_references();
    read_schema(document.root());
    document.check_unknown_keys();
  } catch (const omni::ConfigError& error) {
    return error.what();
  }
  return "";
}

const char* valid_config =
    "trainer: X\n"
    "model:\n"
    "  pretrained_model_name_or_path: some/model\n"
    "  lora:\n"
    "    r: 8\n";

}  // namespace

TEST_SUITE("config") {
  TEST_CASE("a valid config passes") { CHECK(error_of(valid_config) == ""); }

  TEST_CASE("bad configs get exact messages") {
    struct Case {
      const char* yaml;
      const char* expected;
    };
    const Case cases[] = {
        {"trainer: X\nmodel:\n  pretrained_model_name_or_path: m\n  lora:\n    rank: 8\n",
         "cfg.yaml:5:5: unknown key 'model.lora.rank'; expected one of: init_lora_weights, "
         "lora_alpha, r, target_modules"},
        {"trainer: X\nmodel:\n  pretrained_model_name_or_path: m\n  lora:\n    r: sixteen\n",
         "cfg.yaml:5:5: model.lora.r: expected an integer, got 'sixteen'"},
        {"trainer: X\nmodel:\n  lora:\n    r: 4\n",
         "cfg.yaml:3:3: missing required key 'model.pretrained_model_name_or_path' (a string)"},
        {"trainer: X\n", "cfg.yaml:1:1: missing required section 'model' (a mapping)"},
        {"trainer: X\nmodel:\n  pretrained_model_name_or_path: m\ncache:\n  devices:\n    vae: "
         "cuda:x\n",
         "cfg.yaml:6:5: cache.devices.vae: invalid device 'cuda:x'; expected 'cpu', 'cuda' or "
         "'cuda:N' (N a GPU index)"},
        {"trainer: X\nmodel:\n  pretrained_model_name_or_path: m\n  lora:\n    "
         "init_lora_weights: kaiming\n",
         "cfg.yaml:5:5: model.lora.init_lora_weights: unknown value 'kaiming'; expected one of: "
         "gaussian, zero"},
        {"trainer: X\nmodel:\n  pretrained_model_name_or_path: m\ntrain:\n  "
         "gradient_checkpointing: maybe\n",
         "cfg.yaml:5:3: train.gradient_checkpointing: expected true or false, got 'maybe'"},
        {"trainer: X\nmodel: 5\n", "cfg.yaml:2:1: model: expected a mapping, got '5'"},
        {"trainer: X\nmodel:\n  pretrained_model_name_or_path: m\n  lora:\n    target_modules: "
         "{a: 1}\n",
         "cfg.yaml:5:5: model.lora.target_modules: expected a list of values (a string), got a "
         "mapping"},
        {"trainer: X\nmodel:\n  pretrained_model_name_or_path: m\nsurprise: 1\n",
         "cfg.yaml:4:1: unknown key 'surprise'; expected one of: cache, model, train, trainer"},
        {"trainer: X\nmodel:\n  pretrained_model_name_or_path: m\n  "
         "pretrained_model_name_or_path: n\n",
         "cfg.yaml:4:3: duplicate key 'model.pretrained_model_name_or_path'"},
    };
    for (const Case& bad : cases) {
      CAPTURE(bad.yaml);
      CHECK(error_of(bad.yaml) == bad.expected);
    }
  }

  TEST_CASE("several unknown keys are reported together") {
    std::string error = error_of(std::string(valid_config) + "extra_a: 1\nextra_b: 2\n");
    CHECK(error.find("cfg.yaml:6:1: unknown key 'extra_a'") != std::string::npos);
    CHECK(error.find("cfg.yaml:7:1: unknown key 'extra_b'") != std::string::npos);
  }

  TEST_CASE("syntax errors and empty documents name the file") {
    CHECK_THROWS_WITH_AS(omni::ConfigDocument::from_string("a: [1, 2\n", "cfg.yaml"),
                         doctest::Contains("cfg.yaml:2:1: YAML syntax error"), omni::ConfigError);
    CHECK_THROWS_WITH_AS(omni::ConfigDocument::from_string("# only a comment\n", "cfg.yaml"),
                         "cfg.yaml: the config is empty; expected a YAML mapping of sections",
                         omni::ConfigError);
    CHECK_THROWS_WITH_AS(omni::ConfigDocument::from_string("- a\n- b\n", "cfg.yaml"),
                         "cfg.yaml: expected a YAML mapping of sections at the top level",
                         omni::ConfigError);
    CHECK_THROWS_WITH_AS(omni::ConfigDocument::from_file("/nonexistent/omni.yaml"),
                         "/nonexistent/omni.yaml: no such config file", omni::ConfigError);
  }

  TEST_CASE("bytes YAML does not allow are refused at their line and column") {
    // yaml-cpp would read these and then write a document it cannot read back (the copy of the
    // config each checkpoint keeps); found by the config_yaml fuzz target.
    CHECK_THROWS_WITH_AS(
        omni::ConfigDocument::from_string(std::string("trainer: X\nname: a\0b\n", 20), "cfg.yaml"),
        "cfg.yaml:2:8: control character U+0000 is not allowed in YAML", omni::ConfigError);
    CHECK_THROWS_WITH_AS(omni::ConfigDocument::from_string("trainer: X\nname: caf\xe9\n", "cfg.yaml"),
                         "cfg.yaml:2:10: byte 0xe9 is not valid UTF-8 (YAML text must be UTF-8)",
                         omni::ConfigError);
    CHECK_THROWS_WITH_AS(omni::ConfigDocument::from_string("a: \x7f\n", "cfg.yaml"),
                         "cfg.yaml:1:4: control character U+007F is not allowed in YAML",
                         omni::ConfigError);
    // Tabs, CR LF line ends, a byte-order mark and any printable character are fine.
    CHECK_NOTHROW(omni::ConfigDocument::from_string(
        "\xef\xbb\xbftrainer: \"X\\tY\"\r\nname: caf\xc3\xa9 \xf0\x9f\x90\x88\t# \xe2\x82\xac\r\n",
        "cfg.yaml"));
    CHECK(error_of(valid_config, {std::string("model.lora.r=\x01")}) ==
          "--set: in the assignment at 1:14: control character U+0001 is not allowed in YAML");
    CHECK(error_of(valid_config, {std::string("model.l\x8fora.r=1")}) ==
          "--set: in the assignment at 1:8: byte 0x8f is not valid UTF-8 (YAML text must be UTF-8)");
  }

  TEST_CASE("--set overrides are typed and located") {
    CHECK(error_of(valid_config, {"model.lora.r=32"}) == "");
    CHECK(error_of(valid_config, {"model.lora.r=abc"}) ==
          "--set model.lora.r=abc: model.lora.r: expected an integer, got 'abc'");
    CHECK(error_of(valid_config, {"model.lora.rank=4"}) ==
          "--set model.lora.rank=4: unknown key 'model.lora.rank'; expected one of: "
          "init_lora_weights, lora_alpha, r, target_modules");
    CHECK(error_of(valid_config, {"novalue"}) == "--set novalue: expected key.path=value");
    CHECK(error_of(valid_config, {"trainer.x=1"}) ==
          "--set trainer.x=1: 'trainer' is not a mapping, cannot set 'x' inside it");

    omni::ConfigDocument document = omni::ConfigDocument::from_string(valid_config, "cfg.yaml");
    document.apply_override("train.gradient_checkpointing=false");
    document.apply_override("model.lora.target_modules=[to_q, to_k]");
    omni::ConfigView root = document.root();
    CHECK_FALSE(root.child("train").get<bool>("gradient_checkpointing"));
    CHECK((root.child("model").child("lora").get<std::vector<std::string>>("target_modules") ==
           std::vector<std::string>{"to_q", "to_k"}));
  }

  TEST_CASE("assigning a view rebinds it and leaves the document alone") {
    omni::ConfigDocument document = omni::ConfigDocument::from_string(
        "loss: {class_path: X, init_args: {eps: 0.5}}\n", "cfg.yaml");
    omni::ConfigView loss = document.root().child("loss");
    omni::ConfigView view = loss;
    view = loss.child("init_args");
    CHECK(view.path() == "loss.init_args");
    CHECK(view.get<double>("eps") == 0.5);
    CHECK(loss.get<std::string>("class_path") == "X");
    CHECK_FALSE(document.root().child("loss").has("eps"));
  }

  TEST_CASE("--set creates every missing level of a key path") {
    omni::ConfigDocument document = omni::ConfigDocument::from_string(valid_config, "cfg.yaml");
    document.apply_override("loss.init_args.eps=0.5");        // two levels missing
    document.apply_override("loss.init_args.reduction=sum");  // one missing
    document.apply_override("model.extra.deeper.value=3");    // under an existing mapping
    omni::ConfigView root = document.root();
    omni::ConfigView args = root.child("loss").child("init_args");
    CHECK(args.get<double>("eps") == 0.5);
    CHECK(args.get<std::string>("reduction") == "sum");
    CHECK(root.child("model").child("extra").child("deeper").get<int>("value") == 3);
    CHECK_FALSE(root.child("loss").has("eps"));
    CHECK(root.child("model").get<std::string>("pretrained_model_name_or_path") == "some/model");
  }

  TEST_CASE("references to other keys are resolved") {
    omni::ConfigDocument document = omni::ConfigDocument::from_string(
        "logging:\n  output_dir: /runs/a\n  name: exp\n"
        "cache:\n  cache_dir: ${logging.output_dir}/${logging.name}/cache\n",
        "cfg.yaml");
    document.apply_override("logging.output_dir=/runs/b");
    document.resolve_references();
    CHECK(document.root().child("cache").get<std::string>("cache_dir") == "/runs/b/exp/cache");

    auto resolve = [](const char* yaml) {
      omni::ConfigDocument bad = omni::ConfigDocument::from_string(yaml, "cfg.yaml");
      bad.resolve_references();
    };
    CHECK_THROWS_WITH_AS(resolve("a: ${nowhere.key}\n"),
                         "cfg.yaml:1:4: a: reference '${nowhere.key}' names no key",
                         omni::ConfigError);
    CHECK_THROWS_WITH_AS(resolve("a: ${b}\nb: ${a}\n"),
                         doctest::Contains("refers back to itself"), omni::ConfigError);
    CHECK_THROWS_WITH_AS(resolve("a: ${b}\nb: {c: 1}\n"),
                         doctest::Contains("names a mapping or list"), omni::ConfigError);
  }

  TEST_CASE("unavailable devices are errors for a run and warnings for validation") {
    const char* yaml =
        "trainer: X\nmodel:\n  pretrained_model_name_or_path: m\n"
        "cache:\n  devices:\n    vae: cuda:7\n";
    omni::ConfigDocument strict = omni::ConfigDocument::from_string(yaml, "cfg.yaml");
    omni::ConfigDocument lenient = omni::ConfigDocument::from_string(yaml, "cfg.yaml");
    lenient.set_strict_devices(false);
    read_schema(lenient.root());
    if (omni::check_device("cuda:7").empty()) return;  // a machine with eight GPUs
    CHECK_THROWS_WITH_AS(read_schema(strict.root()),
                         doctest::Contains("cfg.yaml:6:5: cache.devices.vae: device 'cuda:7'"),
                         omni::ConfigError);
    REQUIRE(lenient.warnings().size() == 1);
    CHECK(lenient.warnings()[0].find("cfg.yaml:6:5: cache.devices.vae") == 0);
  }

  TEST_CASE("free-form sections accept any key") {
    omni::ConfigDocument document =
        omni::ConfigDocument::from_string("extras:\n  anything: 1\n  goes: 2\n", "cfg.yaml");
    document.root().child("extras").accept_any_keys();
    CHECK_NOTHROW(document.check_unknown_keys());
  }

  TEST_CASE("sequences of mappings have indexed paths") {
    omni::ConfigDocument document = omni::ConfigDocument::from_string(
        "loras:\n  - path: a.safetensors\n    scale: 0.5\n  - path: b.safetensors\n    "
        "scael: 1\n",
        "cfg.yaml");
    for (const omni::ConfigView& item : document.root().items("loras")) {
      item.get<std::string>("path");
      item.get<double>("scale", 1.0);
    }
    CHECK_THROWS_WITH_AS(document.check_unknown_keys(),
                         "cfg.yaml:5:5: unknown key 'loras[1].scael'; expected one of: path, scale",
                         omni::ConfigError);
  }

  TEST_CASE("a document that collects problems reports every mistake at once, in file order") {
    omni::ConfigDocument document = omni::ConfigDocument::from_string(
        "model:\n"
        "  lora:\n"
        "    r: sixteen\n"
        "    init_lora_weights: gaussain\n"
        "    dropuot: 0.1\n"
        "cache:\n"
        "  devices: {vae: gpu0}\n",
        "cfg.yaml");
    document.collect_problems(true);
    read_schema(document.root());
    std::string message;
    try {
      document.check_unknown_keys();
    } catch (const omni::ConfigError& error) {
      message = error.what();
    }
    CHECK(message ==
          "cfg.yaml: 6 problems:\n"
          "cfg.yaml:1:1: missing required key 'trainer' (a string)\n"
          "cfg.yaml:2:3: missing required key 'model.pretrained_model_name_or_path' (a string)\n"
          "cfg.yaml:3:5: model.lora.r: expected an integer, got 'sixteen'\n"
          "cfg.yaml:4:5: model.lora.init_lora_weights: unknown value 'gaussain'; expected one "
          "of: gaussian, zero\n"
          "cfg.yaml:5:5: unknown key 'model.lora.dropuot'; expected one of: init_lora_weights, "
          "lora_alpha, r, target_modules\n"
          "cfg.yaml:7:13: cache.devices.vae: invalid device 'gpu0'; expected 'cpu', 'cuda' or "
          "'cuda:N' (N a GPU index)");
  }

  TEST_CASE("a check on a key whose read failed does not repeat the problem") {
    omni::ConfigDocument document =
        omni::ConfigDocument::from_string("train:\n  steps: many\n", "cfg.yaml");
    document.collect_problems(true);
    omni::ConfigView train = document.root().child("train");
    int steps = train.get<int>("steps", 10);
    CHECK(steps == 10);  // the fallback stands in for the bad value
    try {
      train.fail("steps", "expected a positive count");
      FAIL("fail() returned");
    } catch (const omni::ConfigError& interrupted) {
      CHECK_THROWS_WITH_AS(document.throw_with_problems(interrupted),
                           "cfg.yaml:2:3: train.steps: expected an integer, got 'many'",
                           omni::ConfigError);
    }
  }

  TEST_CASE("read_keys lists every key a schema asked for, list items generalised") {
    omni::ConfigDocument document = omni::ConfigDocument::from_string(
        "loras:\n  - {path: a}\n  - {path: b, scale: 2}\n", "cfg.yaml");
    for (const omni::ConfigView& item : document.root().items("loras")) {
      item.get<std::string>("path");
      item.get<double>("scale", 1.0);
    }
    document.root().get<int>("absent", 0);
    CHECK(document.read_keys() ==
          std::vector<std::string>{"absent", "loras", "loras[].path", "loras[].scale"});
  }
}
