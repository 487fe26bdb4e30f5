// The DreamOmni2 trainer: offset position ids in every path (ids, sampling, fit, cache keys),
// any number of references, and the prompt enhancer seeing every reference image.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include <ATen/ATen.h>

#include "dreamomni2/dreamomni2_trainer.hpp"
#include "flux_kontext/vae/autoencoder_kl.hpp"
#include "flux_kontext/sampling/flow_match_scheduler.hpp"
#include "flux_kontext/sampling/flux_sampler.hpp"
#include "flux_kontext/model/flux_transformer.hpp"
#include "flux_kontext/trainer/kontext_components.hpp"
#include "omni/training/lora_adapters.hpp"
#include "flux_kontext/lora/lora_files.hpp"
#include "flux_kontext/trainer/prompt_enhancement.hpp"
#include "flux_kontext/trainer/sample_cache.hpp"
#include "flux_kontext/quickstart/tiny_pipeline.hpp"
#include "omni/image_io.hpp"
#include "omni/safetensors.hpp"
#include "test_support.hpp"

namespace {

using omni::test::read_file;

namespace fs = std::filesystem;
using flux_kontext::PackedGrid;
using omni::test::quote;
using omni::test::run_host;

const fs::path kFluxFixtures = omni::test::fixtures_dir() / "flux";

at::Tensor fixture(const fs::path& file, const std::string& name) {
  return omni::SafetensorsFile::open(file)->tensor(name).to(at::kFloat).clone();
}

// The DreamOmni2 scheme written out independently: target [0, r, c]; reference i gets
// [i + 1, r, c + sum of the packed widths of the references before it].
at::Tensor expected_ids(const PackedGrid& target, const std::vector<PackedGrid>& references) {
  std::vector<float> values;
  auto add = [&](float index, const PackedGrid& grid, std::int64_t column_offset) {
    for (std::int64_t r = 0; r < grid.rows; ++r) {
      for (std::int64_t c = 0; c < grid.cols; ++c) {
        values.insert(values.end(), {index, static_cast<float>(r), static_cast<float>(c + column_offset)});
      }
    }
  };
  add(0, target, 0);
  std::int64_t offset = 0;
  for (std::size_t i = 0; i < references.size(); ++i) {
    add(static_cast<float>(i + 1), references[i], offset);
    offset += references[i].cols;
  }
  return at::tensor(values).view({-1, 3});
}

// A Kontext trainer whose control ids are whatever the test says: the reference for "fit
// used exactly these ids".
class FixedIdsTrainer : public flux_kontext::FluxKontextTrainer {
 public:
  FixedIdsTrainer(flux_kontext::TrainerConfig config, at::Tensor ids)
      : FluxKontextTrainer(std::move(config)), ids_(std::move(ids)) {}
  at::Tensor control_image_ids(const std::vector<PackedGrid>&) const override { return ids_; }

 private:
  at::Tensor ids_;
};

}  // namespace

TEST_SUITE("dreamomni2") {
  TEST_CASE("both trainers' ids equal the fixtures' kontext and dreamomni2 img_ids") {
    const flux_kontext::FluxKontextTrainer kontext{flux_kontext::TrainerConfig{}};
    const dreamomni2::DreamOmni2Trainer dream{flux_kontext::TrainerConfig{}};
    // Both fixture files: target 2x3 tokens, references 2x2 and 3x2 (Kontext: one reference
    // in sampling_cases).
    const PackedGrid target{2, 3};
    const std::vector<PackedGrid> references{{2, 2}, {3, 2}};
    for (const char* file : {"flux_transformer_cases.safetensors", "sampling_cases.safetensors"}) {
      CAPTURE(file);
      CHECK(at::equal(dream.image_ids(target, references),
                      fixture(kFluxFixtures / file, "dreamomni2.img_ids")));
    }
    CHECK(at::equal(kontext.image_ids(target, references),
                    fixture(kFluxFixtures / "flux_transformer_cases.safetensors", "kontext.img_ids")));
    CHECK(at::equal(kontext.image_ids(target, {references[0]}),
                    fixture(kFluxFixtures / "sampling_cases.safetensors", "kontext.img_ids")));
    CHECK(kontext.position_id_scheme() != dream.position_id_scheme());
  }

  TEST_CASE("3 and 5 references of mixed sizes follow the formula, also through debug position-ids") {
    const dreamomni2::DreamOmni2Trainer dream{flux_kontext::TrainerConfig{}};
    const PackedGrid target{3, 5};
    const std::vector<PackedGrid> three{{2, 4}, {5, 1}, {3, 3}};
    const std::vector<PackedGrid> five{{4, 2}, {1, 6}, {3, 3}, {2, 5}, {6, 1}};
    CHECK(at::equal(dream.image_ids(target, three), expected_ids(target, three)));
    CHECK(at::equal(dream.image_ids(target, five), expected_ids(target, five)));

    omni::test::TempDir dir;
    const fs::path out = dir.path() / "ids.safetensors";
    // Pixel sizes: one token per 16 x 16 pixels.
    auto result = run_host("debug position-ids --trainer DreamOmni2 --target 48x80 --control 32x64 "
                           "--control 80x16 --control 48x48 --out " + quote(out.string()));
    CAPTURE(result.output);
    REQUIRE(result.exit_code == 0);
    CHECK(at::equal(fixture(out, "img_ids"), expected_ids(target, three)));
    result = run_host("debug position-ids --trainer FluxKontext --target 32x48 --control 32x32 "
                      "--control 48x32 --out " + quote(out.string()));
    REQUIRE(result.exit_code == 0);
    CHECK(at::equal(fixture(out, "img_ids"),
                    fixture(kFluxFixtures / "flux_transformer_cases.safetensors", "kontext.img_ids")));
    result = run_host("debug position-ids --trainer NoSuchTrainer --target 32x32 --control 32x32 --out " +
                      quote(out.string()));
    CHECK(result.exit_code != 0);
    CHECK(result.output.find("known trainers: DreamOmni2, FluxKontext") != std::string::npos);
    result = run_host("debug position-ids --trainer DreamOmni2 --target 30x32 --control 32x32 --out " +
                      quote(out.string()));
    CHECK(result.exit_code != 0);
    CHECK(result.output.find("multiples of 16") != std::string::npos);
  }

  TEST_CASE("sampling_cases dreamomni2: the trainer's ids drive the sampler to the fixture's latents") {
    torch::NoGradGuard no_grad;
    const fs::path cases = kFluxFixtures / "sampling_cases.safetensors";
    const fs::path model = kFluxFixtures / "tiny-flux-kontext";
    const dreamomni2::DreamOmni2Trainer dream{flux_kontext::TrainerConfig{}};
    auto transformer = flux_kontext::load_flux_transformer(model / "transformer");
    auto vae = flux_kontext::load_autoencoder_kl(model / "vae");
    flux_kontext::FlowMatchEulerDiscreteScheduler scheduler(
        flux_kontext::FlowMatchSchedulerConfig::load(model / "scheduler"));
    // What the predict path does with two references: encode each, concatenate, ids from the
    // trainer (target 32x48 px, references 32x32 and 48x32 px).
    const at::Tensor first = flux_kontext::encode_packed_latents(*vae, fixture(cases, "control_image_0"));
    const at::Tensor second = flux_kontext::encode_packed_latents(*vae, fixture(cases, "control_image_1"));
    flux_kontext::FluxSamplingInputs inputs;
    inputs.initial_noise = fixture(cases, "dreamomni2.initial_noise");
    inputs.control_tokens = at::cat({first, second}, 1);
    inputs.img_ids = dream.image_ids({2, 3}, {{2, 2}, {3, 2}});
    inputs.prompt.encoder_hidden_states = fixture(cases, "encoder_hidden_states");
    inputs.prompt.pooled_projections = fixture(cases, "pooled_projections");
    flux_kontext::FluxSamplingOptions options;
    options.steps = 4;
    options.guidance_scale = fixture(cases, "guidance").item<double>();
    const at::Tensor latents = flux_kontext::sample_flux(*transformer, scheduler, inputs, options);
    CHECK((latents - fixture(cases, "dreamomni2.final_latents")).abs().max().item<double>() < 1e-4);
  }

  TEST_CASE("fit's loss uses the offset ids, not Kontext's") {
    torch::NoGradGuard no_grad;
    auto model = flux_kontext::load_flux_transformer(kFluxFixtures / "tiny-flux-kontext" / "transformer");
    const auto& config = model->config();
    flux_kontext::CachedSample sample;
    sample.target_grid = {2, 3};
    sample.control_grids = {{2, 2}, {3, 2}};
    sample.target_latents = at::randn({6, config.in_channels});
    sample.control_latents = {at::randn({4, config.in_channels}), at::randn({6, config.in_channels})};
    sample.prompt_embeds = at::randn({7, config.joint_attention_dim});
    sample.pooled_prompt_embeds = at::randn({config.pooled_projection_dim});
    flux_kontext::CachedSample empty = sample;
    flux_kontext::TrainerConfig trainer_config;
    const dreamomni2::DreamOmni2Trainer dream{trainer_config};
    const flux_kontext::FluxKontextTrainer kontext{trainer_config};
    const FixedIdsTrainer offsets{trainer_config,
                                  expected_ids({2, 3}, sample.control_grids).narrow(0, 6, 10)};
    auto loss = [&](const flux_kontext::FluxKontextTrainer& trainer) {
      return trainer.batch_loss(*model, {&sample}, {0}, 0, empty, std::nullopt).item<double>();
    };
    CHECK(loss(dream) == loss(offsets));
    CHECK(loss(dream) != loss(kontext));
  }

  TEST_CASE("enhancer answers are cleaned of chat markup and the <gen> wrapper") {
    using flux_kontext::clean_enhancer_answer;
    CHECK(clean_enhancer_answer("<|im_start|>assistant\n<gen>Put the red cup on the table.</gen><|im_end|>") ==
          "Put the red cup on the table.");
    CHECK(clean_enhancer_answer("  plain answer\n<|endoftext|>") == "plain answer");
    CHECK(clean_enhancer_answer("thinking... <gen> unclosed tail ") == "unclosed tail");
    CHECK(clean_enhancer_answer("<|im_end|>").empty());
  }

  TEST_CASE("the release example with local paths runs cache -> fit -> predict with 2 and 3 references") {
    omni::test::TempDir dir;
    const fs::path root = dir.path();
    flux_kontext::write_tiny_kontext_pipeline(root / "model", 5);
    // Three samples: two with 2 references, one with 3 (mixed counts and sizes).
    const std::vector<int> reference_counts{2, 3, 2};
    for (std::size_t s = 0; s < reference_counts.size(); ++s) {
      const std::string stem = "s" + std::to_string(s);
      omni::test::write_noise_png(root / "data" / "target" / (stem + ".png"), 32, 32, 10 + s);
      dir.write("data/target/" + stem + ".txt", "put the object of image 2 into image 1 " + stem);
      for (int r = 0; r < reference_counts[s]; ++r) {
        const std::string name = r == 0 ? stem + ".png" : stem + "_control_" + std::to_string(r) + ".png";
        omni::test::write_noise_png(root / "data" / "control" / name, r == 2 ? 48 : 32,
                                    r == 1 ? 48 : 32, 100 + 10 * s + r);
      }
    }
    omni::test::write_noise_png(root / "edit.png", 32, 32, 1);
    omni::test::write_noise_png(root / "ref1.png", 48, 32, 2);
    omni::test::write_noise_png(root / "ref2.png", 32, 48, 3);
    // The enhancer: a script that records what it is shown and answers like the VLM.
    dir.write("record.sh", R"SH(log="$(dirname "$0")/enhancer.log"
{ printf 'images:'; for f in "$@"; do printf ' %s' "$(basename "$f")"; done
  printf '\ninstruction: '; cat; printf '\n'; } >> "$log"
printf '<|im_start|>assistant\n<gen>rewritten by the test</gen><|im_end|>\n'
)SH");
    const std::string r = root.string();
    const std::string overrides =
        " --set threads=2 --set model.pretrained_model_name_or_path=" + quote(r + "/model") +
        " --set model.prompt_enhancer=external_command" +
        " --set " + quote("prompt_enhancer.command=[sh, " + r + "/record.sh]") +
        " --set cache.devices.prompt_enhancer=cpu --set predict.devices.prompt_enhancer=cpu" +
        " --set data.init_args.dataset_path=" + quote(r + "/data") +
        " --set " + quote("data.init_args.processor.init_args.target_size=[32, 32]") +
        " --set cache.cache_dir=" + quote(r + "/cache") +
        " --set logging.output_dir=" + quote(r + "/output") +
        " --set train.max_train_steps=3 --set train.checkpointing_steps=100" +
        " --set train.gradient_accumulation_steps=1 --set train.mixed_precision=no" +
        " --set train.gradient_checkpointing=false --set model.lora.r=4 --set model.lora.lora_alpha=4" +
        " --set predict.num_inference_steps=2 --set " +
        quote("predict.samples=[{prompt: 'add the cup', images: [" + r + "/edit.png, " + r +
              "/ref1.png, " + r + "/ref2.png], height: 32, width: 32, output: out.png}]");
    const std::string example = quote((omni::test::source_dir() / "configs/dreamomni2_release_example.yaml").string());
    auto result = run_host("run " + example + overrides);
    CAPTURE(result.output);
    REQUIRE(result.exit_code == 0);
    CHECK(result.output.find("fit: done, 3 steps") != std::string::npos);

    // The enhancer saw every reference, in order, and the instruction with the task suffix.
    const std::string log = read_file(root / "enhancer.log");
    CAPTURE(log);
    CHECK(log.find("images: s0.png s0_control_1.png\ninstruction: put the object of image 2 into "
                   "image 1 s0 It is editing task.") != std::string::npos);
    CHECK(log.find("images: s1.png s1_control_1.png s1_control_2.png\n") != std::string::npos);
    CHECK(log.find("images: edit.png ref1.png ref2.png\ninstruction: add the cup It is editing task.") !=
          std::string::npos);
    // The cache keeps both prompts; the rewritten one was encoded.
    int entries = 0;
    for (const auto& entry : fs::directory_iterator(root / "cache")) {
      const auto file = omni::SafetensorsFile::open(entry.path());
      const auto& metadata = file->metadata();
      if (metadata.at("omnihost.prompt").empty()) continue;  // the empty prompt
      ++entries;
      CHECK(metadata.at("omnihost.prompt").rfind("put the object of image 2", 0) == 0);
      CHECK(metadata.at("omnihost.enhanced_prompt") == "rewritten by the test");
    }
    CHECK(entries == 3);
    omni::Image prediction = omni::read_image(root / "output" / "predictions" / "out.png");
    CHECK(prediction.width == 32);
    CHECK(prediction.height == 32);

    // A cache written under Kontext ids is not used by DreamOmni2, and the other way round.
    result = run_host("run " + example + overrides + " --mode cache --set trainer=FluxKontext");
    CAPTURE(result.output);
    REQUIRE(result.exit_code == 0);
    CHECK(result.output.find("3 of 3 samples to compute") != std::string::npos);
    result = run_host("run " + example + overrides + " --mode cache");
    CHECK(result.output.find("all 3 samples are cached") != std::string::npos);

    // Fit without a cache: the enhancer runs inside fit (on the fit device map's entry) and
    // no cache folder is written, not even for the validation data set's samples.
    fs::remove(root / "enhancer.log");
    result = run_host("run " + example + overrides + " --mode all --set cache.use_cache=false" +
                      " --set cache.cache_dir=" + quote(r + "/unused-cache") +
                      " --set train.fit_device.prompt_enhancer=cpu" +
                      " --set validation.enabled=true --set validation.steps=100" +
                      " --set validation.max_samples=1 --set validation.dataset.init_args.dataset_path=" +
                      quote(r + "/data") + " --set " +
                      quote("validation.dataset.init_args.processor.init_args.target_size=[32, 32]"));
    CAPTURE(result.output);
    REQUIRE(result.exit_code == 0);
    CHECK(result.output.find("cache.use_cache is false") != std::string::npos);
    CHECK(result.output.find("fit: done, 3 steps") != std::string::npos);
    CHECK(result.output.find("val_loss") != std::string::npos);
    CHECK_FALSE(fs::exists(root / "unused-cache"));
    const std::string uncached_log = read_file(root / "enhancer.log");
    CHECK(uncached_log.find("images: s1.png s1_control_1.png s1_control_2.png\n") != std::string::npos);

    // An enhancer no plugin provides is named in the error.
    result = run_host("run " + example + overrides + " --mode cache --set model.prompt_enhancer=no_such_vlm");
    CHECK(result.exit_code != 0);
    CHECK(result.output.find("no_such_vlm") != std::string::npos);
  }

  TEST_CASE("base LoRAs are fused into the weights or stacked, with the same effect") {
    torch::NoGradGuard no_grad;
    const fs::path transformer_dir = kFluxFixtures / "tiny-flux-kontext" / "transformer";
    omni::test::TempDir dir;
    // A base LoRA file from a model with random adapters.
    auto source = flux_kontext::load_flux_transformer(transformer_dir);
    omni::LoraSpec spec;
    spec.rank = 2;
    spec.alpha = 4;
    spec.init = omni::LoraInit::normal;
    omni::attach_lora(*source, spec);
    const fs::path base_file = dir.path() / "base.safetensors";
    flux_kontext::save_lora_diffusers(base_file, *source, spec);

    const at::Tensor ids = fixture(kFluxFixtures / "flux_transformer_cases.safetensors", "dreamomni2.img_ids");
    flux_kontext::FluxTransformerInputs inputs;
    inputs.hidden_states = at::randn({1, 16, 64});
    inputs.encoder_hidden_states = at::randn({1, 7, 24});
    inputs.pooled_projections = at::randn({1, 20});
    inputs.timestep = at::full({1}, 0.5);
    inputs.guidance = at::full({1}, 2.5);
    inputs.img_ids = ids;
    inputs.txt_ids = at::zeros({7, 3});
    source->eval();
    const at::Tensor adapted = source->forward(inputs);

    auto fused = flux_kontext::load_flux_transformer(transformer_dir);
    auto stacked = flux_kontext::load_flux_transformer(transformer_dir);
    auto plain = flux_kontext::load_flux_transformer(transformer_dir);
    flux_kontext::apply_base_loras(*fused, {{base_file.string(), 1.0, true}});
    flux_kontext::apply_base_loras(*stacked, {{base_file.string(), 1.0, false}});
    for (auto* model : {&fused, &stacked, &plain}) (*model)->eval();
    CHECK((fused->forward(inputs) - adapted).abs().max().item<double>() < 1e-4);
    CHECK((stacked->forward(inputs) - adapted).abs().max().item<double>() < 1e-5);
    CHECK((plain->forward(inputs) - adapted).abs().max().item<double>() > 1e-3);
    // Stacked adapters are not trainable LoRA parameters: a trained LoRA file holds only its own.
    CHECK(omni::lora_parameters(*stacked).empty());
  }
}
