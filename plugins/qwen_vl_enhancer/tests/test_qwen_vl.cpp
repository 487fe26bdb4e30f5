// Qwen2.5-VL against the upstream transformers fixtures (../shared/fixtures/vlm, README
// there): pixel_values within 1e-6, image_embeds within 1e-4, logits within 1e-3, position
// ids, rope_deltas and greedy ids exactly; in the library and through `omnihost debug vlm`.
// Also the host switching between the qwen2_5_vl and external_command enhancers by config.
#include <doctest/doctest.h>

#include <map>
#include <set>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "flux_kontext/trainer/prompt_enhancement.hpp"
#include "flux_kontext/quickstart/tiny_pipeline.hpp"
#include "omni/error.hpp"
#include "omni/safetensors.hpp"
#include "qwen_test_model.hpp"
#include "qwen_vl/qwen_generation.hpp"
#include "qwen_vl/qwen_image_processor.hpp"
#include "qwen_vl/qwen_mrope.hpp"
#include "qwen_vl/qwen_vl_config.hpp"
#include "qwen_vl/qwen_vl_enhancer.hpp"
#include "qwen_vl/qwen_vl_model.hpp"
#include "qwen_vl_options.hpp"
#include "omni/config.hpp"
#include "omni/image_io.hpp"
#include "test_support.hpp"

namespace {

const std::filesystem::path vlm_fixtures = omni::test::fixtures_dir() / "vlm";
const std::filesystem::path tiny_model = vlm_fixtures / "qwen2_5_vl_tiny";
const char* const case_names[] = {"one_image", "two_images"};

std::shared_ptr<const omni::SafetensorsFile> open_cases() {
  return omni::SafetensorsFile::open(vlm_fixtures / "qwen2_5_vl_cases.safetensors");
}

double max_abs_difference(const at::Tensor& a, const at::Tensor& b) {
  REQUIRE((a.sizes() == b.sizes()));
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

qwen_vl::QwenVlModel& tiny() {
  static qwen_vl::QwenVlModel model = qwen_vl::load_qwen_vl_model(tiny_model, at::kFloat, at::kCPU);
  return model;
}

std::vector<std::int64_t> to_vector(const at::Tensor& t) {
  at::Tensor flat = t.to(at::kLong).contiguous().flatten();
  return {flat.data_ptr<std::int64_t>(), flat.data_ptr<std::int64_t>() + flat.numel()};
}

// `omnihost debug vlm` on the tiny model for `tag` of `cases`, writing `out`.
omni::test::CommandResult debug_vlm(const std::filesystem::path& cases, const std::string& tag,
                                    const std::filesystem::path& out, const std::string& extra = "") {
  using omni::test::quote;
  return omni::test::run_host("debug vlm --model " + quote(tiny_model.string()) + " --cases " +
                              quote(cases.string()) + " --tag " + quote(tag) + " --out " +
                              quote(out.string()) + " --threads 2" + extra);
}

// prompt -> the enhanced prompts of the cache entries for it (the empty prompt's left out).
std::map<std::string, std::set<std::string>> enhanced_prompts(const std::filesystem::path& cache) {
  std::map<std::string, std::set<std::string>> found;
  for (const auto& entry : std::filesystem::directory_iterator(cache)) {
    const auto file = omni::SafetensorsFile::open(entry.path());
    const auto& metadata = file->metadata();
    const auto prompt = metadata.find("omnihost.prompt");
    const auto enhanced = metadata.find("omnihost.enhanced_prompt");
    if (prompt == metadata.end() || prompt->second.empty()) continue;
    found[prompt->second].insert(enhanced == metadata.end() ? "(none)" : enhanced->second);
  }
  return found;
}

}  // namespace

TEST_SUITE("qwen_vl") {
  TEST_CASE("the config reads text fields at the top level or under text_config") {
    const qwen_vl::QwenVlConfig config =
        qwen_vl::QwenVlConfig::from_file(tiny_model / "config.json");
    CHECK(config.text.hidden_size == 64);
    CHECK(config.text.num_key_value_heads == 2);
    CHECK(config.text.mrope_section == std::vector<std::int64_t>{2, 3, 3});
    CHECK(config.vision.merged_window() == 4);
    CHECK(config.vision.patch_values() == 1176);
    CHECK(config.vision.is_full_attention(1));
    CHECK_FALSE(config.vision.is_full_attention(2));
    CHECK(config.image_token_id == 2032);
    CHECK(config.eos_token_ids == std::vector<std::int64_t>{2022});

    omni::test::TempDir dir;
    const auto nested = dir.write("config.json", R"({
      "image_token_id": 5, "vision_start_token_id": 4, "eos_token_id": [7, 8],
      "text_config": {"vocab_size": 10, "hidden_size": 8, "intermediate_size": 16,
        "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1,
        "rope_scaling": {"type": "mrope", "mrope_section": [0, 1, 1]}},
      "vision_config": {"depth": 1, "hidden_size": 8, "intermediate_size": 8, "num_heads": 2,
        "out_hidden_size": 8, "fullatt_block_indexes": [0]}})");
    const qwen_vl::QwenVlConfig nested_config = qwen_vl::QwenVlConfig::from_file(nested);
    CHECK(nested_config.text.vocab_size == 10);
    CHECK(nested_config.eos_token_ids == std::vector<std::int64_t>{7, 8});

    const auto bad = dir.write("bad.json", R"({"vocab_size": 10, "hidden_size": 8,
      "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
      "rope_scaling": {"mrope_section": [1, 1, 1]}, "image_token_id": 5,
      "vision_start_token_id": 4, "vision_config": {}})");
    CHECK_THROWS_WITH_AS(qwen_vl::QwenVlConfig::from_file(bad),
                         doctest::Contains("mrope_section"), omni::Error);
  }

  TEST_CASE("smart_resize keeps sizes within the pixel budget and rejects tiny images") {
    const auto same = qwen_vl::smart_resize(140, 196, 28, 56 * 56, 28 * 28 * 1280);
    CHECK(same.height == 140);
    CHECK(same.width == 196);
    const auto rounded = qwen_vl::smart_resize(100, 150, 28, 56 * 56, 28 * 28 * 1280);
    CHECK(rounded.height == 112);  // round(3.57) * 28
    CHECK(rounded.width == 140);   // round(5.36) * 28
    const auto shrunk = qwen_vl::smart_resize(2000, 3000, 28, 56 * 56, 28 * 28 * 1280);
    CHECK(shrunk.height * shrunk.width <= 28 * 28 * 1280);
    CHECK(shrunk.height % 28 == 0);
    CHECK(shrunk.width % 28 == 0);
    const auto grown = qwen_vl::smart_resize(30, 30, 28, 56 * 56, 28 * 28 * 1280);
    CHECK(grown.height * grown.width >= 56 * 56);
    CHECK_THROWS_WITH_AS(qwen_vl::smart_resize(20, 300, 28, 56 * 56, 28 * 28 * 1280),
                         doctest::Contains("too small"), omni::Error);
  }

  TEST_CASE("pixel_values from the raw images match the upstream processor") {
    auto cases = open_cases();
    const qwen_vl::QwenImageProcessorConfig config =
        qwen_vl::QwenImageProcessorConfig::from_folder(tiny_model);  // no file: CLIP defaults
    for (const char* name : case_names) {
      CAPTURE(name);
      std::vector<omni::Image> images;
      for (int k = 0; cases->contains(fmt::format("{}.image_{}", name, k)); ++k) {
        at::Tensor rgb = cases->tensor(fmt::format("{}.image_{}", name, k)).contiguous();
        omni::Image image;
        image.height = static_cast<int>(rgb.size(0));
        image.width = static_cast<int>(rgb.size(1));
        image.pixels.assign(rgb.data_ptr<std::uint8_t>(), rgb.data_ptr<std::uint8_t>() + rgb.numel());
        images.push_back(std::move(image));
      }
      REQUIRE(!images.empty());
      const qwen_vl::ProcessedImages processed = qwen_vl::preprocess_images(images, config);
      CHECK(at::equal(processed.image_grid_thw, cases->tensor(fmt::format("{}.image_grid_thw", name))));
      const double difference =
          max_abs_difference(processed.pixel_values, cases->tensor(fmt::format("{}.pixel_values", name)));
      MESSAGE(std::string(name) << " pixel_values max |diff| " << difference);
      CHECK(difference <= 1e-6);
    }
  }

  TEST_CASE("the window partition matches upstream and inverts") {
    const at::Tensor one = at::tensor(std::vector<std::int64_t>{1, 10, 14}).view({1, 3});
    const qwen_vl::VisionWindows w1 = qwen_vl::vision_windows(one, 2, 4);
    // 5 x 7 merged tokens in 4 x 4 windows: 4x4, 4x3, 1x4, 1x3 merged tokens, 4 patches each.
    CHECK(w1.window_bounds == std::vector<std::int64_t>{0, 64, 112, 128, 140});
    CHECK(w1.image_bounds == std::vector<std::int64_t>{0, 140});
    CHECK(to_vector(w1.window_index.narrow(0, 0, 6)) == std::vector<std::int64_t>{0, 1, 2, 3, 7, 8});
    const at::Tensor two = at::tensor(std::vector<std::int64_t>{1, 4, 6, 1, 16, 8}).view({2, 3});
    const qwen_vl::VisionWindows w2 = qwen_vl::vision_windows(two, 2, 4);
    CHECK(w2.window_bounds == std::vector<std::int64_t>{0, 24, 88, 152});
    CHECK(w2.image_bounds == std::vector<std::int64_t>{0, 24, 152});

    // two_images' windows happen to be in raster order (whole rows of merged tokens);
    // one_image's are not.
    CHECK(to_vector(w2.window_index) == to_vector(at::arange(38, at::kLong)));
    const at::Tensor x = at::randn({140, 5});
    const at::Tensor windowed = qwen_vl::to_window_order(x, w1.window_index, 4);
    CHECK_FALSE(at::equal(windowed, x));
    CHECK(at::equal(qwen_vl::from_window_order(windowed, w1.window_index, 4), x));
    // The 4 patches of a merged token stay together: slot k holds merged token window_index[k].
    const std::int64_t token = w1.window_index[10].item<std::int64_t>();
    CHECK(token == 16);  // window 0, third row holds merged tokens 14..17
    CHECK(at::equal(windowed.narrow(0, 40, 4), x.narrow(0, 4 * token, 4)));
  }

  TEST_CASE("image embeddings match upstream within 1e-4") {
    auto cases = open_cases();
    at::NoGradGuard no_grad;
    for (const char* name : case_names) {
      CAPTURE(name);
      const at::Tensor embeds = tiny()->image_embeds(
          cases->tensor(fmt::format("{}.pixel_values", name)),
          cases->tensor(fmt::format("{}.image_grid_thw", name)));
      const double difference =
          max_abs_difference(embeds, cases->tensor(fmt::format("{}.image_embeds", name)));
      MESSAGE(std::string(name) << " image_embeds max |diff| " << difference);
      CHECK(difference < 1e-4);
    }
  }

  TEST_CASE("M-RoPE position ids and rope deltas match upstream exactly") {
    auto cases = open_cases();
    for (const char* name : case_names) {
      CAPTURE(name);
      const qwen_vl::RopeIndex rope =
          qwen_vl::rope_index(cases->tensor(fmt::format("{}.input_ids", name)),
                              cases->tensor(fmt::format("{}.image_grid_thw", name)),
                              tiny()->config());
      CHECK(at::equal(rope.position_ids, cases->tensor(fmt::format("{}.position_ids", name))));
      CHECK(at::equal(rope.rope_deltas, cases->tensor(fmt::format("{}.rope_deltas", name))));
    }
  }

  TEST_CASE("a text-only prompt gets plain positions and generates the same with the cache") {
    auto cases = open_cases();
    const at::Tensor ids = cases->tensor("one_image.input_ids").narrow(1, 0, 12);  // no image
    const qwen_vl::RopeIndex rope = qwen_vl::rope_index(ids, at::Tensor(), tiny()->config());
    CHECK(at::equal(rope.position_ids, at::arange(12, at::kLong).view({1, 1, 12}).expand({3, 1, 12})));
    CHECK(rope.rope_deltas.item<std::int64_t>() == 0);
    qwen_vl::GenerationInput input;
    input.input_ids = ids;
    qwen_vl::GenerationOptions options;
    options.max_new_tokens = 6;
    const std::vector<std::int64_t> cached = qwen_vl::generate(*tiny(), input, options);
    options.use_cache = false;
    CHECK(qwen_vl::generate(*tiny(), input, options) == cached);
    CHECK(cached.size() == 6);
  }

  TEST_CASE("logits at every prompt position match upstream within 1e-3") {
    auto cases = open_cases();
    at::NoGradGuard no_grad;
    for (const char* name : case_names) {
      CAPTURE(name);
      const at::Tensor ids = cases->tensor(fmt::format("{}.input_ids", name));
      const at::Tensor grid = cases->tensor(fmt::format("{}.image_grid_thw", name));
      const at::Tensor embeds =
          tiny()->image_embeds(cases->tensor(fmt::format("{}.pixel_values", name)), grid);
      const qwen_vl::RopeIndex rope = qwen_vl::rope_index(ids, grid, tiny()->config());
      const at::Tensor logits = tiny()->logits(tiny()->embed(ids, embeds), rope.position_ids);
      const double difference =
          max_abs_difference(logits, cases->tensor(fmt::format("{}.logits", name)));
      MESSAGE(std::string(name) << " logits max |diff| " << difference);
      CHECK(difference < 1e-3);
    }
  }

  TEST_CASE("the model runs in bfloat16 close to the fp32 reference") {
    // bf16 keeps 8 significant bits: a smoke test of the reduced-precision path (norms, rotary
    // tables and logits stay fp32), with a bound far below the logits' spread.
    auto cases = open_cases();
    at::NoGradGuard no_grad;
    qwen_vl::QwenVlModel model = qwen_vl::load_qwen_vl_model(tiny_model, at::kBFloat16, at::kCPU);
    const at::Tensor ids = cases->tensor("one_image.input_ids");
    const at::Tensor grid = cases->tensor("one_image.image_grid_thw");
    const at::Tensor embeds = model->image_embeds(cases->tensor("one_image.pixel_values"), grid);
    CHECK((embeds.scalar_type() == at::kBFloat16));
    const double embeds_difference = max_abs_difference(embeds, cases->tensor("one_image.image_embeds"));
    const qwen_vl::RopeIndex rope = qwen_vl::rope_index(ids, grid, model->config());
    const at::Tensor logits = model->logits(model->embed(ids, embeds), rope.position_ids);
    CHECK((logits.scalar_type() == at::kFloat));
    const double logits_difference = max_abs_difference(logits, cases->tensor("one_image.logits"));
    MESSAGE("bf16 image_embeds max |diff| " << embeds_difference << ", logits max |diff| "
                                           << logits_difference);
    CHECK(embeds_difference < 0.05);
    CHECK(logits_difference < 0.1);
  }

  TEST_CASE("greedy continuations match upstream, with and without the KV cache") {
    auto cases = open_cases();
    for (const char* name : case_names) {
      CAPTURE(name);
      qwen_vl::GenerationInput input;
      input.input_ids = cases->tensor(fmt::format("{}.input_ids", name));
      input.pixel_values = cases->tensor(fmt::format("{}.pixel_values", name));
      input.image_grid_thw = cases->tensor(fmt::format("{}.image_grid_thw", name));
      qwen_vl::GenerationOptions options;
      options.max_new_tokens = 8;  // no stop ids: the fixture never stops at <|im_end|>
      const std::vector<std::int64_t> expected =
          to_vector(cases->tensor(fmt::format("{}.greedy_ids", name)));
      options.use_cache = true;
      CHECK(qwen_vl::generate(*tiny(), input, options) == expected);
      options.use_cache = false;
      CHECK(qwen_vl::generate(*tiny(), input, options) == expected);
    }
  }

  TEST_CASE("generation stops at a stop id and caps at max_new_tokens") {
    auto cases = open_cases();
    qwen_vl::GenerationInput input;
    input.input_ids = cases->tensor("one_image.input_ids");
    input.pixel_values = cases->tensor("one_image.pixel_values");
    input.image_grid_thw = cases->tensor("one_image.image_grid_thw");
    qwen_vl::GenerationOptions options;
    options.max_new_tokens = 8;
    options.stop_ids = {644};  // the third greedy token of this case
    CHECK(qwen_vl::generate(*tiny(), input, options) == std::vector<std::int64_t>{1351, 271, 644});
    options.stop_ids.clear();
    options.max_new_tokens = 2;
    CHECK(qwen_vl::generate(*tiny(), input, options) == std::vector<std::int64_t>{1351, 271});
  }

  TEST_CASE("sampling is reproducible with a seed and top_p near 0 is greedy") {
    auto cases = open_cases();
    qwen_vl::GenerationInput input;
    input.input_ids = cases->tensor("two_images.input_ids");
    input.pixel_values = cases->tensor("two_images.pixel_values");
    input.image_grid_thw = cases->tensor("two_images.image_grid_thw");
    qwen_vl::GenerationOptions options;
    options.max_new_tokens = 8;
    options.do_sample = true;
    options.seed = 7;
    options.temperature = 1.5;
    CHECK(qwen_vl::generate(*tiny(), input, options) == qwen_vl::generate(*tiny(), input, options));
    options.top_p = 1e-6;  // only the most likely token survives
    CHECK(qwen_vl::generate(*tiny(), input, options) ==
          to_vector(cases->tensor("two_images.greedy_ids")));
  }

  TEST_CASE("a prompt whose image tokens disagree with the images is a clear error") {
    auto cases = open_cases();
    at::NoGradGuard no_grad;
    at::Tensor ids = cases->tensor("one_image.input_ids").clone();
    const at::Tensor grid = cases->tensor("one_image.image_grid_thw");
    ids[0][20] = 5;  // one <|image_pad|> fewer
    CHECK_THROWS_WITH_AS(qwen_vl::rope_index(ids, grid, tiny()->config()),
                         doctest::Contains("<|image_pad|>"), omni::Error);
    const at::Tensor embeds = tiny()->image_embeds(cases->tensor("one_image.pixel_values"), grid);
    CHECK_THROWS_WITH_AS(tiny()->embed(ids, embeds), doctest::Contains("image tokens"),
                         omni::Error);
  }

  TEST_CASE("omnihost debug vlm reproduces both cases from pixel_values and from the raw images") {
    omni::test::TempDir dir;
    auto cases = open_cases();
    for (const std::string name : case_names) {
      for (const bool from_pixels : {false, true}) {
        CAPTURE(name);
        CAPTURE(from_pixels);
        const auto out = dir.path() / fmt::format("{}_{}.safetensors", name, from_pixels);
        const omni::test::CommandResult result =
            debug_vlm(cases->path(), name, out, from_pixels ? " --from-pixels" : "");
        REQUIRE_MESSAGE(result.exit_code == 0, result.output);
        const auto written = omni::SafetensorsFile::open(out);
        const auto key = [&](const char* field) { return fmt::format("{}.{}", name, field); };
        CHECK(max_abs_difference(written->tensor(key("image_embeds")),
                                 cases->tensor(key("image_embeds"))) < 1e-4);
        CHECK(max_abs_difference(written->tensor(key("logits")), cases->tensor(key("logits"))) < 1e-3);
        for (const char* exact : {"position_ids", "rope_deltas", "greedy_ids"}) {
          CAPTURE(exact);
          CHECK(to_vector(written->tensor(key(exact))) == to_vector(cases->tensor(key(exact))));
          CHECK((written->tensor(key(exact)).sizes() == cases->tensor(key(exact)).sizes()));
        }
      }
    }
  }

  TEST_CASE("omnihost debug vlm names the file, the tensor and what it expected on bad input") {
    omni::test::TempDir dir;
    auto cases = open_cases();
    const at::Tensor ids = cases->tensor("one_image.input_ids");
    const at::Tensor grid = cases->tensor("one_image.image_grid_thw");
    const at::Tensor pixels = cases->tensor("one_image.pixel_values");
    const auto bad = dir.path() / "bad_cases.safetensors";
    omni::save_safetensors(bad, {{"batch.input_ids", ids.expand({2, -1}).contiguous()},
                                 {"narrow.input_ids", ids},
                                 {"narrow.image_grid_thw", grid},
                                 {"narrow.pixel_values", pixels.narrow(1, 0, 1000).contiguous()},
                                 {"mismatch.input_ids", ids},
                                 {"mismatch.image_grid_thw", cases->tensor("two_images.image_grid_thw")},
                                 {"mismatch.pixel_values", cases->tensor("two_images.pixel_values")},
                                 {"odd.input_ids", ids},
                                 {"odd.image_grid_thw", grid.narrow(1, 0, 2).contiguous()},
                                 {"no_images.input_ids", ids},
                                 {"no_images.image_grid_thw", grid},
                                 {"no_images.pixel_values", pixels}});
    struct Bad {
      std::filesystem::path cases;
      std::string tag, extra;
      std::vector<std::string> expected;
    };
    const std::vector<Bad> inputs = {
        {bad, "absent", "", {"bad_cases.safetensors", "'absent.input_ids' is missing", "int64 [1, tokens]"}},
        {bad, "batch", "", {"'batch.input_ids'", "[2, 60]", "[1, tokens]"}},
        {bad, "narrow", "", {"'narrow.pixel_values'", "[140, 1000]", "[140, 1176]"}},
        {bad, "mismatch", "", {"'mismatch.input_ids' does not fit mismatch.image_grid_thw", "Qwen M-RoPE"}},
        {bad, "odd", "", {"'odd.image_grid_thw'", "[1, 2]", "[images, 3]"}},
        {bad, "no_images", " --from-pixels", {"'no_images.image_0' is missing", "--from-pixels"}},
        {dir.path() / "absent.safetensors", "one_image", "", {"absent.safetensors"}},
    };
    for (const Bad& input : inputs) {
      CAPTURE(input.tag);
      const auto out = dir.path() / (input.tag + ".safetensors");
      const omni::test::CommandResult result = debug_vlm(input.cases, input.tag, out, input.extra);
      CAPTURE(result.output);
      CHECK(result.exit_code == 1);  // an error message, not a crash
      for (const std::string& text : input.expected) CHECK(result.output.find(text) != std::string::npos);
      CHECK_FALSE(std::filesystem::exists(out));
    }
    const omni::test::CommandResult no_model = omni::test::run_host(
        "debug vlm --model " + omni::test::quote((dir.path() / "no_model").string()) +
        " --cases " + omni::test::quote(cases->path().string()) + " --tag one_image --out x");
    CHECK(no_model.exit_code == 1);
    CHECK(no_model.output.find("no_model") != std::string::npos);
  }

  TEST_CASE("one omnihost build caches DreamOmni2 prompts through qwen2_5_vl or external_command, as configured") {
    namespace fs = std::filesystem;
    using omni::test::quote;
    omni::test::TempDir dir;
    const fs::path root = dir.path();
    flux_kontext::write_tiny_kontext_pipeline(root / "model", 5);
    qwen_test::write_tiny_vlm_folder(root / "vlm" / "vlm-model");
    std::vector<std::string> prompts;
    std::vector<std::vector<fs::path>> references;
    for (int s = 0; s < 2; ++s) {
      const std::string stem = "s" + std::to_string(s);
      omni::test::write_noise_png(root / "data" / "target" / (stem + ".png"), 32, 32, 10 + s);
      prompts.push_back("put the object of image 2 into image 1 " + stem);
      dir.write("data/target/" + stem + ".txt", prompts.back());
      references.push_back({root / "data" / "control" / (stem + ".png"),
                            root / "data" / "control" / (stem + "_control_1.png")});
      omni::test::write_noise_png(references.back()[0], 32, 32, 100 + s);
      omni::test::write_noise_png(references.back()[1], 48, 32, 200 + s);
    }
    dir.write("answer.sh", "cat > /dev/null\nprintf '<gen>rewritten by the script</gen>\\n'\n");
    const std::string r = root.string();
    const std::string cache_run =
        "run " + quote((omni::test::source_dir() / "configs/dreamomni2_release_example.yaml").string()) +
        " --mode cache --set threads=2 --set model.pretrained_model_name_or_path=" + quote(r + "/model") +
        " --set cache.devices.prompt_enhancer=cpu --set predict.devices.prompt_enhancer=cpu" +
        " --set data.init_args.dataset_path=" + quote(r + "/data") +
        " --set " + quote("data.init_args.processor.init_args.target_size=[32, 32]") +
        " --set cache.cache_dir=" + quote(r + "/cache") + " --set logging.output_dir=" + quote(r + "/output");

    const omni::test::CommandResult external = omni::test::run_host(
        cache_run + " --set model.prompt_enhancer=external_command --set " +
        quote("prompt_enhancer.command=[sh, " + r + "/answer.sh]"));
    REQUIRE_MESSAGE(external.exit_code == 0, external.output);
    const omni::test::CommandResult qwen = omni::test::run_host(
        cache_run + " --set model.prompt_enhancer=qwen2_5_vl --set prompt_enhancer.model=" +
        quote(r + "/vlm") + " --set prompt_enhancer.subfolder=vlm-model" +
        " --set prompt_enhancer.dtype=fp32 --set prompt_enhancer.device=cpu" +
        " --set prompt_enhancer.max_new_tokens=6");
    REQUIRE_MESSAGE(qwen.exit_code == 0, qwen.output);
    // The enhancer's identity is part of every cache key: nothing of the first run is reused.
    CHECK_MESSAGE(qwen.output.find("2 of 2 samples to compute") != std::string::npos, qwen.output);

    // What the library gives for the same request, the way the trainer asks it.
    qwen_vl_enhancer::QwenVlOptions options;
    options.model = r + "/vlm";
    options.dtype = "fp32";
    options.max_new_tokens = 6;
    qwen_vl::QwenVlEnhancer enhancer(options);
    const auto found = enhanced_prompts(root / "cache");
    REQUIRE(found.size() == prompts.size());
    for (std::size_t s = 0; s < prompts.size(); ++s) {
      CAPTURE(prompts[s]);
      const std::string answer =
          flux_kontext::enhance_prompt(enhancer, prompts[s], references[s], " It is editing task.",
                                       "test")
              .rewritten;
      MESSAGE("tiny qwen2_5_vl rewrite: " << answer);
      CHECK(answer != prompts[s]);  // the model answered: its own text, not the fallback
      CHECK(found.at(prompts[s]) == std::set<std::string>{"rewritten by the script", answer});
    }
  }

  TEST_CASE("the qwen2_5_vl settings each change the enhancer's answer or its identity") {
    namespace fs = std::filesystem;
    omni::test::TempDir dir;
    qwen_test::write_tiny_vlm_folder(dir.path() / "vlm" / "vlm-model");
    omni::EnhanceRequest request;
    request.instruction = "put the object of image 2 into image 1";
    for (int i = 0; i < 2; ++i) {
      const fs::path image = dir.path() / ("image" + std::to_string(i) + ".png");
      omni::test::write_noise_png(image, 56, 84, 30 + static_cast<unsigned>(i));
      request.image_paths.push_back(image);
      request.images.push_back(omni::read_image(image));
    }
    // The enhancer made from the `prompt_enhancer` section: these settings, with `changes`
    // ("key: value" pairs) replacing or adding some.
    const auto answer = [&](std::map<std::string, std::string> changes) {
      std::map<std::string, std::string> settings = {
          {"model", (dir.path() / "vlm").string()}, {"subfolder", "vlm-model"},
          {"dtype", "fp32"}, {"device", "cpu"}, {"max_new_tokens", "6"}};
      for (const auto& [key, value] : changes) settings[key] = value;
      std::string yaml = "prompt_enhancer:\n";
      for (const auto& [key, value] : settings) yaml += "  " + key + ": " + value + "\n";
      omni::ConfigDocument document = omni::ConfigDocument::from_string(yaml, "cfg.yaml");
      const auto options =
          qwen_vl_enhancer::parse_qwen_vl_options(document.root().child("prompt_enhancer"));
      document.check_unknown_keys();
      qwen_vl::QwenVlEnhancer enhancer(options);
      return std::make_pair(enhancer.enhance(request), enhancer.identity());
    };
    using Settings = std::map<std::string, std::string>;
    const auto plain = answer({});
    const auto sampled = answer({{"do_sample", "true"}});
    struct Case {
      const char* key;
      std::pair<std::string, std::string> before;
      Settings settings;
    };
    const std::vector<Case> cases = {
        {"do_sample", plain, {{"do_sample", "true"}}},
        {"max_new_tokens", plain, {{"max_new_tokens", "2"}}},
        {"task_suffix", plain, {{"task_suffix", "' Describe the result.'"}}},
        // At 784 pixels (one 28x28 patch) the images are shrunk; with max_pixels above their
        // 4704 they keep their 2x3 patches. It shows after a few tokens of the tiny model.
        {"max_pixels", answer({{"min_pixels", "784"}, {"max_new_tokens", "24"}}),
         {{"min_pixels", "784"}, {"max_pixels", "784"}, {"max_new_tokens", "24"}}},
        {"min_pixels", plain, {{"min_pixels", "40000"}, {"max_pixels", "80000"}}},  // and more
        {"temperature", sampled, {{"do_sample", "true"}, {"temperature", "5"}}},
        {"top_p", sampled, {{"do_sample", "true"}, {"top_p", "0.05"}}},
    };
    for (const Case& item : cases) {
      CAPTURE(std::string(item.key));
      const auto changed = answer(item.settings);
      CHECK(changed.second != item.before.second);  // the cache key sees the setting
      MESSAGE(std::string(item.key) << ": '" << item.before.first << "' -> '" << changed.first << "'");
      CHECK(changed.first != item.before.first);    // and the answer changes with it
    }
    // The dtype: the weights are loaded in it. (The tiny model's answer may not change:
    // bf16 rounding does not move its argmax on every LibTorch.)
    for (const auto& [name, dtype] : {std::pair<const char*, c10::ScalarType>{"fp32", at::kFloat},
                                      {"bf16", at::kBFloat16}}) {
      CAPTURE(std::string(name));
      omni::ConfigDocument document = omni::ConfigDocument::from_string(
          "prompt_enhancer: {model: " + (dir.path() / "vlm").string() +
              ", subfolder: vlm-model, device: cpu, dtype: " + name + "}\n",
          "cfg.yaml");
      qwen_vl::QwenVlEnhancer enhancer(
          qwen_vl_enhancer::parse_qwen_vl_options(document.root().child("prompt_enhancer")));
      const bool loaded_in_dtype = enhancer.weights_dtype() == dtype;
      CHECK(loaded_in_dtype);
    }
    CHECK(answer({{"dtype", "bf16"}}).second != plain.second);
    // Where the model is read from: a folder that is not there is named.
    CHECK_THROWS_WITH(answer({{"model", (dir.path() / "elsewhere").string()}}),
                      doctest::Contains("elsewhere"));
    CHECK_THROWS_WITH(answer({{"subfolder", "other-model"}}), doctest::Contains("other-model"));
  }
}
