// CLIPTextModel and T5EncoderModel against the upstream transformers fixtures
// (../shared/fixtures/text, README there): every element within 1e-4 absolute in fp32.
#include <doctest/doctest.h>

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include "flux_kontext/text/clip_text_model.hpp"
#include "flux_kontext/text/t5_encoder_model.hpp"
#include <fstream>

#include <fmt/format.h>

#include "flux_kontext/quickstart/tiny_tokenizers.hpp"
#include "flux_kontext/text/text_encoders.hpp"
#include "flux_kontext/trainer/kontext_components.hpp"
#include "omni/config.hpp"
#include "omni/error.hpp"
#include "omni/registry.hpp"
#include "omni/safetensors.hpp"
#include "test_support.hpp"

namespace {

const std::filesystem::path text_fixtures = omni::test::fixtures_dir() / "text";
constexpr double tolerance = 1e-4;

double max_abs_difference(const at::Tensor& a, const at::Tensor& b) {
  REQUIRE((a.sizes() == b.sizes()));
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

void check_clip_case(const std::string& name) {
  auto cases = omni::SafetensorsFile::open(text_fixtures / (name + "_cases.safetensors"));
  flux_kontext::ClipTextModel model =
      flux_kontext::load_clip_text_model(text_fixtures / name, at::kFloat, at::kCPU);
  at::NoGradGuard no_grad;
  flux_kontext::ClipTextOutput output = model->forward(cases->tensor("input_ids"));
  CHECK(at::equal(output.pooled_position, cases->tensor("pooled_position")));
  CHECK(max_abs_difference(output.last_hidden_state, cases->tensor("last_hidden_state")) <
        tolerance);
  CHECK(max_abs_difference(output.pooler_output, cases->tensor("pooler_output")) < tolerance);
}

// Writes a component folder (config.json + model.safetensors) holding `module`'s weights.
void write_component(const std::filesystem::path& folder, const std::string& config_json,
                     torch::nn::Module& module) {
  std::filesystem::create_directories(folder);
  std::ofstream(folder / "config.json") << config_json;
  omni::NamedTensors tensors;
  for (const auto& item : module.named_parameters()) tensors.emplace_back(item.key(), item.value());
  omni::save_safetensors(folder / "model.safetensors", tensors);
}

// A pipeline folder with the project's tiny tokenizers and random tiny encoders.
void write_tiny_text_pipeline(const std::filesystem::path& root) {
  flux_kontext::TinyTokenizerSizes sizes = flux_kontext::write_tiny_tokenizers(root);
  const std::string clip_config = fmt::format(
      R"({{"model_type": "clip_text_model", "vocab_size": {}, "hidden_size": 16,
          "intermediate_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
          "max_position_embeddings": 77, "hidden_act": "quick_gelu", "eos_token_id": {}}})",
      sizes.clip_vocab_size, sizes.clip_vocab_size - 1);  // the tiny vocab ends with its EOS
  const std::string t5_config = fmt::format(
      R"({{"model_type": "t5", "vocab_size": {}, "d_model": 16, "d_kv": 4, "d_ff": 32,
          "num_layers": 2, "num_heads": 4, "feed_forward_proj": "gated-gelu"}})",
      sizes.t5_vocab_size);
  flux_kontext::ClipTextModel clip(flux_kontext::ClipTextConfig::from_file(
      omni::test::TempDir().write("config.json", clip_config)));
  flux_kontext::T5EncoderModel t5(flux_kontext::T5EncoderConfig::from_file(
      omni::test::TempDir().write("config.json", t5_config)));
  write_component(root / "text_encoder", clip_config, *clip);
  write_component(root / "text_encoder_2", t5_config, *t5);
  std::ofstream(root / "model_index.json") << R"({
    "_class_name": "FluxKontextPipeline",
    "text_encoder": ["transformers", "CLIPTextModel"],
    "text_encoder_2": ["transformers", "T5EncoderModel"],
    "tokenizer": ["transformers", "CLIPTokenizer"],
    "tokenizer_2": ["transformers", "T5TokenizerFast"]})";
}

}  // namespace

TEST_SUITE("text_encoders") {
  TEST_CASE("CLIP with FLUX.1's legacy token ids matches transformers") {
    check_clip_case("clip_legacy");
  }

  TEST_CASE("CLIP with a new-style eos_token_id matches transformers") {
    check_clip_case("clip_eos");
  }

  TEST_CASE("T5 v1.1 encoder matches transformers, with and without a mask") {
    auto cases = omni::SafetensorsFile::open(text_fixtures / "t5_tiny_cases.safetensors");
    flux_kontext::T5EncoderModel model =
        flux_kontext::load_t5_encoder_model(text_fixtures / "t5_tiny", at::kFloat, at::kCPU);
    at::NoGradGuard no_grad;
    at::Tensor ids = cases->tensor("input_ids");
    CHECK(max_abs_difference(model->forward(ids), cases->tensor("last_hidden_state_no_mask")) <
          tolerance);
    CHECK(max_abs_difference(model->forward(ids, cases->tensor("attention_mask")),
                             cases->tensor("last_hidden_state_masked")) < tolerance);
  }

  TEST_CASE("T5 relative position buckets follow upstream's first distances") {
    // README: the first distance of buckets 8..15 is 8, 12, 16, 23, 32, 46, 64, 91.
    const std::int64_t firsts[] = {8, 12, 16, 23, 32, 46, 64, 91};
    for (std::int64_t bucket = 8; bucket < 16; ++bucket) {
      std::int64_t first = firsts[bucket - 8];
      at::Tensor around = at::tensor({-first, -(first - 1), first}, at::kLong);
      at::Tensor buckets = flux_kontext::T5EncoderModelImpl::relative_position_bucket(around, 32, 128);
      CAPTURE(bucket);
      CHECK(buckets[0].item<std::int64_t>() == bucket);       // query after key: lower half
      CHECK(buckets[1].item<std::int64_t>() == bucket - 1);
      CHECK(buckets[2].item<std::int64_t>() == bucket + 16);  // key after query: upper half
    }
  }

  TEST_CASE("T5 loads a checkpoint that names the embedding encoder.embed_tokens only") {
    omni::test::TempDir dir;
    std::filesystem::copy_file(text_fixtures / "t5_tiny" / "config.json", dir.path() / "config.json");
    auto source = omni::SafetensorsFile::open(text_fixtures / "t5_tiny" / "model.safetensors");
    omni::NamedTensors tensors;
    for (const std::string& name : source->names()) {
      if (name != "shared.weight") tensors.emplace_back(name, source->tensor(name));
    }
    omni::save_safetensors(dir.path() / "model.safetensors", tensors);
    flux_kontext::T5EncoderModel model =
        flux_kontext::load_t5_encoder_model(dir.path(), at::kFloat, at::kCPU);
    CHECK(at::equal(model->named_parameters()["shared.weight"],
                    source->tensor("encoder.embed_tokens.weight")));
  }

  TEST_CASE("the clip_text and t5_encoder components encode prompts end to end") {
    omni::test::TempDir dir;
    write_tiny_text_pipeline(dir.path());
    omni::ConfigDocument clip_options = omni::ConfigDocument::from_string(
        "model: " + dir.path().string() + "\n", "<test>");
    omni::ConfigDocument t5_options = omni::ConfigDocument::from_string(
        "model: " + dir.path().string() + "\nmax_length: 64\n", "<test>");
    flux_kontext::ClipTextEncoder clip(
        flux_kontext::parse_text_encoder_options(clip_options.root(), false));
    flux_kontext::T5TextEncoder t5(flux_kontext::parse_text_encoder_options(t5_options.root(), true));

    const std::vector<std::string> prompts{"put the red circle in the corner", ""};
    flux_kontext::KontextPromptEmbeddings embeddings =
        flux_kontext::encode_kontext_prompts(clip, t5, prompts);
    CHECK((embeddings.prompt_embeds.sizes() == at::IntArrayRef({2, 64, 16})));
    CHECK((embeddings.pooled_prompt_embeds.sizes() == at::IntArrayRef({2, 16})));
    CHECK((embeddings.text_ids.sizes() == at::IntArrayRef({64, 3})));
    CHECK(embeddings.text_ids.abs().sum().item<double>() == 0.0);
    CHECK((embeddings.prompt_embeds.scalar_type() == at::kFloat));
    // Deterministic, and the two prompts really differ.
    flux_kontext::KontextPromptEmbeddings again = flux_kontext::encode_kontext_prompts(clip, t5, prompts);
    CHECK(at::equal(again.prompt_embeds, embeddings.prompt_embeds));
    CHECK(at::equal(again.pooled_prompt_embeds, embeddings.pooled_prompt_embeds));
    CHECK_FALSE(at::allclose(embeddings.pooled_prompt_embeds[0], embeddings.pooled_prompt_embeds[1]));
    CHECK(clip.identity().find("clip_text:") == 0);
    CHECK(clip.identity() != t5.identity());

    std::filesystem::remove(dir.path() / "tokenizer" / "merges.txt");
    CHECK_THROWS_WITH_AS(flux_kontext::ClipTextEncoder(flux_kontext::parse_text_encoder_options(
                             clip_options.root(), false)),
                         doctest::Contains("merges.txt"), omni::Error);
  }

  TEST_CASE("debug text-encoder reproduces the fixtures through the host") {
    omni::test::TempDir dir;
    for (const std::string name : {"clip_legacy", "t5_tiny"}) {
      const std::filesystem::path out = dir.path() / (name + ".safetensors");
      auto result = omni::test::run_host(
          "debug text-encoder --model " + omni::test::quote((text_fixtures / name).string()) +
          " --cases " + omni::test::quote((text_fixtures / (name + "_cases.safetensors")).string()) +
          " --out " + omni::test::quote(out.string()));
      CAPTURE(result.output);
      REQUIRE(result.exit_code == 0);
      auto expected = omni::SafetensorsFile::open(text_fixtures / (name + "_cases.safetensors"));
      auto produced = omni::SafetensorsFile::open(out);
      for (const std::string& key : produced->names()) {
        CAPTURE(key);
        CHECK(max_abs_difference(produced->tensor(key), expected->tensor(key)) < tolerance);
      }
      CHECK(produced->names().size() == 2);  // CLIP: hidden + pooled; T5: unmasked + masked
    }
  }

  TEST_CASE("bad text encoder folders are clear errors") {
    omni::test::TempDir dir;
    CHECK_THROWS_WITH_AS(flux_kontext::load_clip_text_model(dir.path(), at::kFloat, at::kCPU),
                         doctest::Contains("config.json"), omni::Error);
    dir.write("config.json", R"({"vocab_size": 10, "hidden_size": 8, "intermediate_size": 16,
                                 "num_hidden_layers": 1, "num_attention_heads": 3})");
    CHECK_THROWS_WITH_AS(flux_kontext::load_clip_text_model(dir.path(), at::kFloat, at::kCPU),
                         doctest::Contains("key 'num_attention_heads': hidden_size 8 is not "
                                           "divisible by num_attention_heads 3"),
                         omni::Error);
    dir.write("config.json", R"({"vocab_size": 10, "hidden_size": "wide"})");
    CHECK_THROWS_WITH_AS(flux_kontext::load_clip_text_model(dir.path(), at::kFloat, at::kCPU),
                         doctest::Contains("key 'hidden_size': expected an integer, got \"wide\""),
                         omni::Error);
    // A T5 checkpoint given to the CLIP loader: every name is wrong, and the error says so.
    std::filesystem::copy_file(text_fixtures / "clip_eos" / "config.json", dir.path() / "config.json",
                               std::filesystem::copy_options::overwrite_existing);
    std::filesystem::copy_file(text_fixtures / "t5_tiny" / "model.safetensors",
                               dir.path() / "model.safetensors");
    // Each list is sorted and cut at 20 names, so the first names of each side appear.
    CHECK_THROWS_WITH_AS(flux_kontext::load_clip_text_model(dir.path(), at::kFloat, at::kCPU),
                         doctest::Contains("36 missing, 22 unexpected"), omni::Error);
    CHECK_THROWS_WITH_AS(flux_kontext::load_clip_text_model(dir.path(), at::kFloat, at::kCPU),
                         doctest::Contains("text_model.embeddings.token_embedding.weight"),
                         omni::Error);
    CHECK_THROWS_WITH_AS(flux_kontext::load_clip_text_model(dir.path(), at::kFloat, at::kCPU),
                         doctest::Contains("encoder.block.0.layer.0.SelfAttention.k.weight"),
                         omni::Error);
  }

  TEST_CASE("the trainer builds its text encoders by name through the registry") {
    // An encoder another plugin could provide: it records the options it was made with.
    struct Recording final : omni::TextEncoder {
      omni::TextEmbeddings encode(const std::vector<std::string>&) override { return {}; }
      std::string identity() const override { return "recording"; }
    };
    std::vector<std::string> made;
    omni::Registry registry;
    registry.register_from("test", [&](omni::Registrar& registrar) {
      omni::TextEncoderFactory factory;
      factory.name = "recording_text";
      factory.validate = [](const omni::ConfigView&, const omni::ComponentProvider&) {};
      factory.create = [&](const omni::ConfigView& options, const omni::ComponentProvider&) {
        made.push_back(options.get<std::string>("subfolder") + "@" + options.get<std::string>("device"));
        return std::unique_ptr<omni::TextEncoder>(std::make_unique<Recording>());
      };
      registrar.add_text_encoder(factory);
    });
    flux_kontext::KontextModelPaths paths;
    paths.pipeline = "/models/kontext";
    flux_kontext::ModelConfig model;
    model.text_encoder = model.text_encoder_2 = "recording_text";
    const flux_kontext::KontextTextEncoders encoders = flux_kontext::load_text_encoders(
        paths, model, c10::Device(c10::kCPU), c10::Device(c10::kCPU), &registry);
    CHECK(encoders.text_encoder->identity() == "recording");
    CHECK(made == std::vector<std::string>{"text_encoder@cpu", "text_encoder_2@cpu"});

    model.text_encoder = "missing_text";
    const std::string error = omni::test::error_of([&] {
      flux_kontext::load_text_encoders(paths, model, c10::Device(c10::kCPU), c10::Device(c10::kCPU),
                                       &registry);
    });
    CHECK_MESSAGE(error.find("unknown text encoder 'missing_text'; known text encoders: "
                             "recording_text") != std::string::npos,
                  error);
  }
}
