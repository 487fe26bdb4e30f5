// The FluxKontext trainer end to end on a tiny pipeline, through the host: cache -> fit ->
// predict, exact resume from a checkpoint, and the errors a user meets first.
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <limits>
#include <set>
#include <sstream>

#include <turbojpeg.h>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>

#include "flux_kontext/trainer/flux_kontext_trainer.hpp"
#include "flux_kontext/model/flux_transformer.hpp"
#include "flux_kontext/trainer/sample_cache.hpp"
#include "flux_kontext/quickstart/tiny_pipeline.hpp"
#include "omni/image_io.hpp"
#include "omni/safetensors.hpp"
#include "omni/tensorboard_reader.hpp"
#include "bfl_test_files.hpp"
#include "kontext_training_setup.hpp"
#include "test_support.hpp"

namespace {

namespace fs = std::filesystem;
using flux_test::identical;
using flux_test::losses;
using flux_test::read_all;
using flux_test::TrainingSetup;
using flux_test::write_random_png;
using omni::test::quote;
using omni::test::run_host;

}  // namespace

TEST_SUITE("kontext_trainer") {
  TEST_CASE("cache, fit and predict run end to end and a resumed run matches an uninterrupted one") {
    TrainingSetup setup;
    // LoRA dropout and caption dropout (0.3 in the setup) on: a resume redraws neither.
    const std::string dropout = " --set model.lora.lora_dropout=0.1";
    auto result = run_host("run " + quote(setup.config.string()) + dropout);
    CAPTURE(result.output);
    REQUIRE(result.exit_code == 0);
    const fs::path run = setup.run_folder();
    CHECK(fs::exists(run / "checkpoints" / "checkpoint-3" / "COMPLETE"));
    CHECK(fs::exists(run / "checkpoints" / "checkpoint-6" / "COMPLETE"));
    CHECK(fs::exists(run / "metrics.jsonl"));
    CHECK(losses(run / "metrics.jsonl").size() == 6);
    CHECK_FALSE(fs::is_empty(run / "tensorboard"));
    const fs::path lora = run / "pytorch_lora_weights.safetensors";
    REQUIRE(fs::exists(lora));
    auto lora_file = omni::SafetensorsFile::open(lora);
    CHECK(lora_file->contains("transformer.transformer_blocks.0.attn.to_q.lora_A.weight"));
    CHECK(lora_file->metadata().count("lora_adapter_metadata") == 1);
    omni::Image prediction = omni::read_image(setup.output() / "predictions" / "out.png");
    CHECK(prediction.width == 32);
    CHECK(prediction.height == 32);

    // Resume from step 3: the same LoRA, the same losses for steps 4-6.
    const omni::NamedTensors uninterrupted = read_all(lora);
    const std::vector<double> first_losses = losses(run / "metrics.jsonl");
    fs::remove(run / "metrics.jsonl");
    result = run_host("run " + quote(setup.config.string()) + dropout + " --mode fit --resume " +
                      quote((run / "checkpoints" / "checkpoint-3").string()));
    CAPTURE(result.output);
    REQUIRE(result.exit_code == 0);
    CHECK(identical(read_all(lora), uninterrupted));
    const std::vector<double> resumed_losses = losses(run / "metrics.jsonl");
    REQUIRE(resumed_losses.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) CHECK(resumed_losses[i] == first_losses[i + 3]);

    // The cache is reused as long as nothing changed; a changed prompt recomputes one entry.
    result = run_host("run " + quote(setup.config.string()) + " --mode cache");
    CHECK(result.output.find("all 2 samples are cached") != std::string::npos);
    setup.dir.write("data/training_images/sample1.txt", "another prompt");
    result = run_host("run " + quote(setup.config.string()) + " --mode cache");
    CAPTURE(result.output);
    CHECK(result.output.find("1 of 2 samples to compute") != std::string::npos);
  }

  TEST_CASE("the same seed and config give bit-identical LoRA weights; loss goes down") {
    TrainingSetup first("", 1);
    TrainingSetup second("", 1);
    for (TrainingSetup* setup : {&first, &second}) {
      auto result = run_host("run " + quote(setup->config.string()) +
                             " --mode fit --set train.max_train_steps=40 --set "
                             "train.checkpointing_steps=100 --set optimizer.init_args.lr=0.01 "
                             "--set data.init_args.caption_dropout_rate=0");
      CAPTURE(result.output);
      REQUIRE(result.exit_code == 0);
    }
    const auto lora = [](const TrainingSetup& setup) {
      return read_all(setup.run_folder() / "pytorch_lora_weights.safetensors");
    };
    CHECK(identical(lora(first), lora(second)));
    std::vector<double> values = losses(first.run_folder() / "metrics.jsonl");
    REQUIRE(values.size() == 40);
    double early = 0, late = 0;
    for (int i = 0; i < 10; ++i) {
      early += values[static_cast<std::size_t>(i)];
      late += values[values.size() - 1 - static_cast<std::size_t>(i)];
    }
    CAPTURE(early);
    CAPTURE(late);
    CHECK(late < early);
  }

  TEST_CASE("fit and predict take the transformer from BFL's single file (model.transformer_path)") {
    // BFL files carry no config, so their sizes must be FLUX.1's kind (head size 128): the
    // tiny pipeline gets such a transformer, then one copy trains from its folder and the
    // other from the same weights as one BFL file, with the transformer folder gone.
    TrainingSetup folder("", 1), single("", 1);
    for (TrainingSetup* setup : {&folder, &single}) {
      const fs::path transformer = setup->dir.path() / "model" / "transformer";
      nlohmann::json config;
      std::ifstream(transformer / "config.json") >> config;
      config["attention_head_dim"] = 128;
      config["num_attention_heads"] = 1;
      config["axes_dims_rope"] = {16, 56, 56};
      setup->dir.write("model/transformer/config.json", config.dump(2));
      at::manual_seed(3);
      flux_kontext::FluxTransformer2DModel model(
          flux_kontext::FluxTransformerConfig::from_json(config, "test"));
      omni::NamedTensors weights;
      for (const auto& item : model->named_parameters()) weights.emplace_back(item.key(), item.value().detach());
      omni::save_safetensors(transformer / "diffusion_pytorch_model.safetensors", weights);
    }
    const fs::path transformer = single.dir.path() / "model" / "transformer";
    const fs::path bfl_file = single.dir.path() / "flux1-kontext-test.safetensors";
    omni::save_safetensors(bfl_file, flux_test::diffusers_to_bfl(
                                         *omni::TensorSource::open(transformer),
                                         flux_kontext::FluxTransformerConfig::from_folder(transformer), ""));
    fs::remove_all(transformer);
    const std::string steps = " --set train.max_train_steps=2 --set train.checkpointing_steps=10";
    auto result = run_host("run " + quote(folder.config.string()) + steps);
    CAPTURE(result.output);
    REQUIRE(result.exit_code == 0);
    result = run_host("run " + quote(single.config.string()) + steps +
                      " --set model.transformer_path=" + quote(bfl_file.string()));
    CAPTURE(result.output);
    REQUIRE(result.exit_code == 0);
    const auto lora = [](const TrainingSetup& setup) {
      return read_all(setup.run_folder() / "pytorch_lora_weights.safetensors");
    };
    CHECK(identical(lora(folder), lora(single)));
    CHECK(fs::exists(single.output() / "predictions" / "out.png"));
    CHECK(omni::read_image(single.output() / "predictions" / "out.png").pixels ==
          omni::read_image(folder.output() / "predictions" / "out.png").pixels);
  }

  TEST_CASE("train.log_every logs the mean loss of each window of steps, and nothing between") {
    TrainingSetup every("", 1), third("", 1);
    const std::string fit = " --mode fit --set train.max_train_steps=6 --set train.checkpointing_steps=100";
    REQUIRE(run_host("run " + quote(every.config.string()) + fit).exit_code == 0);
    const auto result = run_host("run " + quote(third.config.string()) + fit + " --set train.log_every=3");
    CAPTURE(result.output);
    REQUIRE(result.exit_code == 0);
    const std::vector<double> all = losses(every.run_folder() / "metrics.jsonl");
    const std::vector<double> windows = losses(third.run_folder() / "metrics.jsonl");
    REQUIRE(all.size() == 6);
    REQUIRE(windows.size() == 2);
    // Logging is all that differs: the same steps, their losses averaged per window.
    CHECK(windows[0] == doctest::Approx((all[0] + all[1] + all[2]) / 3).epsilon(1e-5));
    CHECK(windows[1] == doctest::Approx((all[3] + all[4] + all[5]) / 3).epsilon(1e-5));
    CHECK(identical(read_all(every.run_folder() / "pytorch_lora_weights.safetensors"),
                    read_all(third.run_folder() / "pytorch_lora_weights.safetensors")));
  }

  TEST_CASE("--resume latest starts a new run when there is no checkpoint yet, then resumes") {
    TrainingSetup setup("", 1);
    const std::string command = "run " + quote(setup.config.string()) +
                                " --mode fit --resume latest --set train.checkpointing_steps=2";
    const auto first = run_host(command + " --set train.max_train_steps=2");
    CAPTURE(first.output);
    REQUIRE(first.exit_code == 0);
    CHECK(first.output.find("no complete checkpoint under") != std::string::npos);
    CHECK(first.output.find("starting a new run") != std::string::npos);
    const auto second = run_host(command + " --set train.max_train_steps=4");
    CAPTURE(second.output);
    REQUIRE(second.exit_code == 0);
    CHECK(second.output.find("resuming") != std::string::npos);
    CHECK(second.output.find("at step 2") != std::string::npos);
    CHECK(losses(setup.run_folder() / "metrics.jsonl").size() == 4);
  }

  TEST_CASE("model.pretrained_embeddings names text encoder folders apart from the pipeline") {
    TrainingSetup setup("", 1);
    const fs::path model = setup.dir.path() / "model";
    fs::rename(model / "text_encoder", setup.dir.path() / "clip_weights");
    fs::rename(model / "text_encoder_2", setup.dir.path() / "t5_weights");
    const std::string cache = "run " + quote(setup.config.string()) + " --mode cache";
    const std::string clip = " --set model.pretrained_embeddings.text_encoder=" +
                             quote((setup.dir.path() / "clip_weights").string());
    const std::string t5 = " --set model.pretrained_embeddings.text_encoder_2=" +
                           quote((setup.dir.path() / "t5_weights").string());
    auto result = run_host(cache + clip + t5);
    CAPTURE(result.output);
    CHECK(result.exit_code == 0);
    result = run_host(cache + clip + " --set model.pretrained_embeddings.text_encoder_2=" +
                      quote((setup.dir.path() / "nowhere").string()));
    CHECK(result.exit_code != 0);
    CHECK(result.output.find("model.pretrained_embeddings.text_encoder_2") != std::string::npos);
  }

  TEST_CASE("the mask loss weighs the edit masks that data.init_args.use_edit_mask reads") {
    TrainingSetup plain("", 1), masked("", 1);
    for (TrainingSetup* setup : {&plain, &masked}) {
      write_random_png(setup->dir.path() / "data" / "training_images" / "sample0_mask.png", 32, 5);
    }
    const std::string fit = " --mode all --set train.max_train_steps=2 --set "
                            "train.checkpointing_steps=100 --set optimizer.init_args.lr=0.01";
    auto result = run_host("run " + quote(plain.config.string()) + fit);
    REQUIRE(result.exit_code == 0);
    result = run_host("run " + quote(masked.config.string()) + fit +
                      " --set loss.mask_loss=true --set loss.forground_weight=4"
                      " --set data.init_args.use_edit_mask=true");
    CAPTURE(result.output);
    REQUIRE(result.exit_code == 0);
    CHECK_FALSE(identical(read_all(plain.run_folder() / "pytorch_lora_weights.safetensors"),
                          read_all(masked.run_folder() / "pytorch_lora_weights.safetensors")));
    // A mask loss without the masks, or masks without a mask loss, is said.
    result = run_host("run " + quote(masked.config.string()) + fit + " --set loss.mask_loss=true");
    CHECK(result.exit_code != 0);
    CHECK(result.output.find("set data.init_args.use_edit_mask: true") != std::string::npos);
    result = run_host("validate " + quote(plain.config.string()) +
                      " --set data.init_args.use_edit_mask=true");
    CHECK(result.exit_code == 0);
    CHECK(result.output.find("use_edit_mask: has no effect") != std::string::npos);
  }

  TEST_CASE("caption dropout replaces the prompt: at rate 1 the prompt's words change nothing") {
    // Two data sets that differ only in their prompts train the same LoRA when every caption
    // is dropped, and different ones when none is: dropout that did nothing fails the first.
    const auto train = [](double rate, const std::string& prompt) {
      TrainingSetup setup("", 1);
      setup.dir.write("data/training_images/sample0.txt", prompt);
      const auto result = run_host("run " + quote(setup.config.string()) +
                                   " --mode fit --set train.max_train_steps=3 --set "
                                   "train.checkpointing_steps=100 --set optimizer.init_args.lr=0.01"
                                   " --set data.init_args.caption_dropout_rate=" +
                                   std::to_string(rate));
      CAPTURE(result.output);
      REQUIRE(result.exit_code == 0);
      return read_all(setup.run_folder() / "pytorch_lora_weights.safetensors");
    };
    CHECK(identical(train(1.0, "make it brighter"), train(1.0, "turn the cat into a dog")));
    CHECK_FALSE(identical(train(0.0, "make it brighter"), train(0.0, "turn the cat into a dog")));
  }

  TEST_CASE("the cache key covers every reference: changing reference 2 recomputes the entry") {
    TrainingSetup setup("", 2);
    write_random_png(setup.dir.path() / "data" / "control_images" / "sample1_control_1.png", 32, 31);
    const std::string cache = "run " + quote(setup.config.string()) + " --mode cache";
    auto result = run_host(cache);
    CAPTURE(result.output);
    REQUIRE(result.exit_code == 0);
    result = run_host(cache);
    CHECK(result.output.find("all 2 samples are cached") != std::string::npos);
    write_random_png(setup.dir.path() / "data" / "control_images" / "sample1_control_1.png", 32, 32);
    result = run_host(cache);
    CHECK(result.output.find("1 of 2 samples to compute") != std::string::npos);
  }

  TEST_CASE("batches of 2 over mixed sizes and reference counts: one shape per batch") {
    // Samples 0, 2: 32 px with two references; 1, 3: 48 px with one; 4: 32 px with one. At
    // their own sizes, batch 2 makes three buckets: two full batches and one of a single
    // sample, so one epoch is three steps. Without bucketing the first batch (in data order,
    // shuffle off) would mix samples 0 and 1.
    TrainingSetup setup("", 5);
    const fs::path data = setup.dir.path() / "data";
    for (int i : {0, 2}) {
      write_random_png(data / "control_images" / ("sample" + std::to_string(i) + "_control_1.png"), 32, 40 + i);
    }
    for (int i : {1, 3}) {
      const std::string stem = "sample" + std::to_string(i) + ".png";
      write_random_png(data / "training_images" / stem, 48, 50 + i);
      write_random_png(data / "control_images" / stem, 48, 60 + i);
    }
    const auto result = run_host("run " + quote(setup.config.string()) +
                                 " --mode fit --set data.batch_size=2 --set data.shuffle=false"
                                 " --set data.init_args.processor.init_args.target_size=null"
                                 " --set train.gradient_accumulation_steps=1"
                                 " --set train.max_train_steps=4 --set train.checkpointing_steps=100");
    CAPTURE(result.output);
    REQUIRE(result.exit_code == 0);
    std::ifstream in(setup.run_folder() / "metrics.jsonl");
    std::vector<double> epochs;
    for (std::string line; std::getline(in, line);) {
      const nlohmann::json entry = nlohmann::json::parse(line);
      CHECK(std::isfinite(entry.at("loss").get<double>()));
      epochs.push_back(entry.at("epoch").get<double>());
    }
    CHECK(epochs == std::vector<double>{0, 0, 0, 1});  // three batches make the first epoch
  }

  TEST_CASE("the shipped defaults, bf16 with gradient checkpointing, train close to fp32") {
    TrainingSetup fp32("", 1), bf16("", 1);
    const std::string fit = " --mode fit --set train.max_train_steps=4 --set "
                            "train.checkpointing_steps=100 --set optimizer.init_args.lr=0.01";
    auto result = run_host("run " + quote(fp32.config.string()) + fit);
    REQUIRE(result.exit_code == 0);
    result = run_host("run " + quote(bf16.config.string()) + fit +
                      " --set train.mixed_precision=bf16 --set train.gradient_checkpointing=true");
    CAPTURE(result.output);
    REQUIRE(result.exit_code == 0);
    const std::vector<double> a = losses(fp32.run_folder() / "metrics.jsonl");
    const std::vector<double> b = losses(bf16.run_folder() / "metrics.jsonl");
    REQUIRE(a.size() == 4);
    REQUIRE(b.size() == 4);
    for (std::size_t i = 0; i < a.size(); ++i) {
      CAPTURE(i);
      // bf16 rounding (0.05 % here), not another model.
      CHECK(b[i] == doctest::Approx(a[i]).epsilon(0.05));
    }
    // The base really ran in bf16: the trained LoRA is not fp32's, and it is saved in fp32.
    const auto lora = omni::SafetensorsFile::open(bf16.run_folder() / "pytorch_lora_weights.safetensors");
    CHECK(lora->info("transformer.transformer_blocks.0.attn.to_q.lora_B.weight").dtype == "F32");
    CHECK_FALSE(identical(read_all(fp32.run_folder() / "pytorch_lora_weights.safetensors"),
                          read_all(bf16.run_folder() / "pytorch_lora_weights.safetensors")));
  }

  TEST_CASE("SIGINT and SIGTERM during fit write a checkpoint, exit 130, and the run resumes") {
    for (const std::string signal : {"INT", "TERM"}) {
      CAPTURE(signal);
      TrainingSetup setup("", 1);
      const std::string output = quote(setup.output().string());
      const std::string log = quote((setup.dir.path() / "fit.log").string());
      // The host in the background; once the first step is logged, the signal; then its exit
      // status. Both waits give up after 60 s (the second kills the host), so that a host that
      // ignores the signal fails the test instead of blocking it: sh starts background jobs
      // with SIGINT ignored, so only the host's own handler makes it stop.
      const std::string script =
          "env -u OMNI_PLUGIN_PATH " + quote(omni::test::host_exe().string()) + " run " +
          quote(setup.config.string()) +
          " --mode fit --set train.max_train_steps=100000 --set train.checkpointing_steps=100000 > " +
          log + " 2>&1 & pid=$!; tries=0; until ls " + output +
          "/run-*/metrics.jsonl > /dev/null 2>&1; do tries=$((tries+1)); "
          "[ $tries -gt 1200 ] && { kill -9 $pid; echo gave-up; exit 2; }; sleep 0.05; done; kill -" +
          signal + " $pid; (sleep 60; kill -9 $pid) > /dev/null 2>&1 & watchdog=$!; wait $pid; status=$?; "
          "kill $watchdog 2> /dev/null; echo exit=$status";
      const auto result = omni::test::run_shell("sh -c " + quote(script));
      std::ifstream in(setup.dir.path() / "fit.log");
      const std::string fit_log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      CAPTURE(fit_log);
      CHECK(result.output.find("exit=130") != std::string::npos);
      CHECK(fit_log.find("continue with --resume") != std::string::npos);
      // The checkpoint of the step it stopped at is complete, and the run goes on from it.
      const fs::path run = setup.run_folder();
      std::vector<fs::path> checkpoints;
      for (const auto& entry : fs::directory_iterator(run / "checkpoints")) checkpoints.push_back(entry.path());
      REQUIRE(checkpoints.size() == 1);
      CHECK(fs::exists(checkpoints.front() / "COMPLETE"));
      const auto resumed = run_host("run " + quote(setup.config.string()) +
                                    " --mode fit --resume latest --set train.max_train_steps=" +
                                    std::to_string(std::stol(checkpoints.front().filename().string().substr(11)) + 1));
      CAPTURE(resumed.output);
      CHECK(resumed.exit_code == 0);
      CHECK(resumed.output.find("resuming") != std::string::npos);
    }
  }

  TEST_CASE("SIGKILL mid-fit, then --resume latest: the LoRA of an uninterrupted run, dropout on") {
    // LoRA dropout 0.1 and caption dropout 0.3 (the setup's): every random draw of a step
    // must come from state the checkpoint holds.
    TrainingSetup setup("", 2);
    const std::string fit = " --mode fit --set model.lora.lora_dropout=0.1"
                            " --set train.max_train_steps=40 --set train.checkpointing_steps=4"
                            " --set train.gradient_accumulation_steps=1";
    auto result = run_host("run " + quote(setup.config.string()) + fit);
    REQUIRE_MESSAGE(result.exit_code == 0, result.output);
    const omni::NamedTensors uninterrupted =
        read_all(setup.run_folder() / "pytorch_lora_weights.safetensors");
    fs::remove_all(setup.output());

    // Killed once its first checkpoint is complete, wherever it then is.
    const std::string output = quote(setup.output().string());
    const std::string script =
        "env -u OMNI_PLUGIN_PATH " + quote(omni::test::host_exe().string()) + " run " +
        quote(setup.config.string()) + fit + " > /dev/null 2>&1 & pid=$!; tries=0; until ls " +
        output + "/run-*/checkpoints/checkpoint-4/COMPLETE > /dev/null 2>&1; do "
        "tries=$((tries+1)); [ $tries -gt 1200 ] && { kill -9 $pid; echo gave-up; exit 2; }; "
        "sleep 0.02; done; kill -9 $pid; wait $pid; echo exit=$?";
    result = omni::test::run_shell("sh -c " + quote(script));
    CAPTURE(result.output);
    REQUIRE(result.output.find("exit=137") != std::string::npos);  // killed, not finished
    CHECK_FALSE(fs::exists(setup.run_folder() / "pytorch_lora_weights.safetensors"));
    result = run_host("run " + quote(setup.config.string()) + fit + " --resume latest");
    CAPTURE(result.output);
    REQUIRE(result.exit_code == 0);
    CHECK(result.output.find("resuming") != std::string::npos);
    CHECK(identical(read_all(setup.run_folder() / "pytorch_lora_weights.safetensors"),
                    uninterrupted));
  }

  TEST_CASE("NaN latents in a cache entry: those steps are skipped, too many in a row stop the run") {
    TrainingSetup setup("", 2);
    const std::string run = "run " + quote(setup.config.string());
    REQUIRE(run_host(run + " --mode cache").exit_code == 0);
    // The sample entries (the empty prompt's has no target latents), in name order.
    std::vector<fs::path> entries;
    for (const auto& entry : fs::recursive_directory_iterator(setup.dir.path() / "cache")) {
      if (entry.path().extension() != ".safetensors") continue;
      if (omni::SafetensorsFile::open(entry.path())->contains("target_latents")) entries.push_back(entry.path());
    }
    std::sort(entries.begin(), entries.end());
    REQUIRE(entries.size() == 2);
    // A crafted entry: the same key and metadata, NaN target latents.
    const auto poison = [](const fs::path& file) {
      auto source = omni::SafetensorsFile::open(file);
      const std::map<std::string, std::string> metadata = source->metadata();
      omni::NamedTensors tensors;
      for (const std::string& name : source->names()) {
        at::Tensor value = source->tensor(name).clone();
        if (name == "target_latents") value.fill_(std::numeric_limits<float>::quiet_NaN());
        tensors.emplace_back(name, value);
      }
      source.reset();
      omni::save_safetensors(file, tensors, metadata);
    };
    poison(entries[0]);
    const std::string fit = " --mode fit --set train.max_train_steps=6 --set train.checkpointing_steps=100"
                            " --set train.gradient_accumulation_steps=1"
                            " --set data.init_args.caption_dropout_rate=0";
    auto result = run_host(run + fit);
    CAPTURE(result.output);
    REQUIRE(result.exit_code == 0);
    // Every skipped step names the one poisoned sample; the 6 steps taken are all good.
    std::set<std::string> named;
    int skipped = 0;
    std::istringstream lines(result.output);
    for (std::string line; std::getline(lines, line);) {
      if (line.find("skipped: the loss or the gradient is not finite") == std::string::npos) continue;
      ++skipped;
      named.insert(line.substr(line.find("samples ") + 8, line.find(')') - line.find("samples ") - 8));
    }
    CHECK(skipped >= 2);
    CHECK(named.size() == 1);
    const std::vector<double> values = losses(setup.run_folder() / "metrics.jsonl");
    CHECK(values.size() == 6);
    for (double value : values) CHECK(std::isfinite(value));
    for (const auto& [name, tensor] : read_all(setup.run_folder() / "pytorch_lora_weights.safetensors")) {
      CAPTURE(name);
      CHECK(at::isfinite(tensor).all().item<bool>());
    }

    // Every sample poisoned: three bad steps in a row stop the run, the state checkpointed.
    poison(entries[1]);
    fs::remove_all(setup.output());
    result = run_host(run + fit + " --set train.max_consecutive_bad_steps=3");
    CAPTURE(result.output);
    CHECK(result.exit_code == 1);
    CHECK(result.output.find("3 steps in a row had a non-finite loss or gradient") != std::string::npos);
    CHECK(fs::exists(setup.run_folder() / "checkpoints" / "checkpoint-0" / "COMPLETE"));
  }

  TEST_CASE("a checkpoint that finds no room stops the run, the previous one intact") {
    TrainingSetup setup("", 1);
    const std::string fit = " --mode fit --set train.checkpointing_steps=2"
                            " --set train.gradient_accumulation_steps=1";
    auto result = run_host("run " + quote(setup.config.string()) + fit + " --set train.max_train_steps=2");
    REQUIRE_MESSAGE(result.exit_code == 0, result.output);
    const fs::path run = setup.run_folder();
    // Files are limited to 4 KiB (sh's ulimit -f 8): the step-4 checkpoint's weights do not fit.
    result = omni::test::run_shell(
        "ulimit -f 8 && env -u OMNI_PLUGIN_PATH " + quote(omni::test::host_exe().string()) +
        " run " + quote(setup.config.string()) + fit + " --set train.max_train_steps=4 --resume latest");
    CAPTURE(result.output);
    CHECK(result.exit_code == 1);
    CHECK(result.output.find("checkpoint of step 4 not saved (the latest complete one is " +
                             (run / "checkpoints" / "checkpoint-2").string() + ")") != std::string::npos);
    CHECK(result.output.find("no room for it") != std::string::npos);
    CHECK(result.output.find("bytes needed") != std::string::npos);
    CHECK(result.output.find("files are limited to") != std::string::npos);  // sh counts 512-byte blocks
    // Nothing half-written is left, under a final name or a temporary one.
    for (const auto& entry : fs::recursive_directory_iterator(run)) {
      const std::string name = entry.path().filename().string();
      CAPTURE(name);
      CHECK(name.find(".tmp-") == std::string::npos);
      CHECK(name.find(".partial-") == std::string::npos);
      CHECK(name != "checkpoint-4");
    }
    // With room again, the run goes on from checkpoint-2.
    result = run_host("run " + quote(setup.config.string()) + fit + " --set train.max_train_steps=4 --resume latest");
    CAPTURE(result.output);
    CHECK(result.exit_code == 0);
    CHECK(result.output.find("resuming") != std::string::npos);
    CHECK(fs::exists(run / "checkpoints" / "checkpoint-4" / "COMPLETE"));
  }

  TEST_CASE("what a killed run left half-written is removed before the next run writes") {
    TrainingSetup setup("", 1);
    // A process id that cannot be running (above Linux's largest), and this test's own.
    const std::string gone = "2147483000", alive = std::to_string(::getpid());
    const fs::path run = setup.output() / "run-20260101-000000";
    const std::vector<fs::path> stale = {
        setup.dir.write("cache/entry.safetensors.tmp-" + gone, "x"),
        setup.dir.write("output/run-20260101-000000/checkpoints/.checkpoint-3.partial-" + gone + "/a", "x")
            .parent_path(),
        setup.dir.write("output/.tiny-model.partial-" + gone + "/config.json", "{}").parent_path(),
        setup.dir.write("output/run-20260101-000000/report/report.txt.tmp-" + gone, "x")};
    const fs::path live = setup.dir.write("cache/entry.safetensors.tmp-" + alive, "x");
    const fs::path lookalike = setup.dir.write("output/notes.tmp-draft", "x");  // no process id
    const auto result = run_host("run " + quote(setup.config.string()) + " --mode cache");
    CAPTURE(result.output);
    REQUIRE(result.exit_code == 0);
    CHECK(result.output.find("removed 4 temporary file(s) or folder(s) left by an interrupted run") !=
          std::string::npos);
    for (const fs::path& path : stale) {
      CAPTURE(path);
      CHECK_FALSE(fs::exists(path));
    }
    CHECK(fs::exists(live));  // a writer that still runs keeps its file
    CHECK(fs::exists(lookalike));
    CHECK(fs::exists(run / "checkpoints"));
  }

  TEST_CASE("bad inputs stop the run with a clear message") {
    TrainingSetup setup;
    SUBCASE("an image smaller than one latent patch") {
      write_random_png(setup.dir.path() / "data" / "control_images" / "sample0.png", 8, 1);
      auto result = run_host("run " + quote(setup.config.string()) + " --mode cache");
      CHECK(result.exit_code != 0);
      CHECK(result.output.find("smaller than one latent patch") != std::string::npos);
      CHECK(result.output.find("sample0") != std::string::npos);
    }
    SUBCASE("a missing prompt file") {
      fs::remove(setup.dir.path() / "data" / "training_images" / "sample1.txt");
      auto result = run_host("run " + quote(setup.config.string()) + " --mode cache");
      CHECK(result.exit_code != 0);
      CHECK(result.output.find("sample1.txt") != std::string::npos);
    }
    SUBCASE("a truncated image") {
      const fs::path file = setup.dir.path() / "data" / "training_images" / "sample0.png";
      fs::resize_file(file, fs::file_size(file) / 2);
      auto result = run_host("run " + quote(setup.config.string()) + " --mode cache");
      CHECK(result.exit_code != 0);
      CHECK(result.output.find("sample0.png") != std::string::npos);
    }
    SUBCASE("an incomplete checkpoint") {
      fs::create_directories(setup.dir.path() / "broken-checkpoint");
      setup.dir.write("broken-checkpoint/trainer_state.json", "{}");
      auto result = run_host("run " + quote(setup.config.string()) + " --mode fit --resume " +
                             quote((setup.dir.path() / "broken-checkpoint").string()));
      CHECK(result.exit_code != 0);
      CHECK(result.output.find("not a complete checkpoint") != std::string::npos);
    }
  }
}

// Validation during fit, the direct predict command, and the per-sample randomness that
// makes a batch's loss independent of how samples are grouped.
namespace {

// The numbers under `key` in metrics.jsonl, skipping lines without it.
std::vector<double> metric(const fs::path& metrics, const std::string& key) {
  std::vector<double> values;
  std::ifstream in(metrics);
  for (std::string line; std::getline(in, line);) {
    const auto object = nlohmann::json::parse(line);
    if (object.contains(key)) values.push_back(object.at(key).get<double>());
  }
  return values;
}

std::vector<std::string> file_names(const fs::path& folder) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(folder)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// A JPEG of seeded random pixels, written with libturbojpeg.
void write_random_jpeg(const fs::path& file, int width, int height, int seed) {
  at::Tensor pixels = at::randint(0, 256, {height * width * 3},
                                  at::make_generator<at::CPUGeneratorImpl>(seed), at::kByte);
  tjhandle handle = tjInitCompress();
  REQUIRE(handle != nullptr);
  unsigned char* data = nullptr;
  unsigned long size = 0;
  const int result = tjCompress2(handle, pixels.data_ptr<std::uint8_t>(), width, 0, height,
                                 TJPF_RGB, &data, &size, TJSAMP_444, 90, 0);
  REQUIRE_MESSAGE(result == 0, tjGetErrorStr2(handle));
  std::ofstream(file, std::ios::binary).write(reinterpret_cast<const char*>(data),
                                              static_cast<std::streamsize>(size));
  tjFree(data);
  tjDestroy(handle);
}

flux_kontext::CachedSample random_cached_sample(const flux_kontext::FluxTransformerConfig& config,
                                                std::uint64_t seed) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  flux_kontext::CachedSample sample;
  sample.target_grid = {2, 2};
  sample.target_latents = at::randn({4, config.in_channels}, generator, at::kFloat);
  sample.control_grids = {{2, 2}};
  sample.control_latents = {at::randn({4, config.in_channels}, generator, at::kFloat)};
  sample.prompt_embeds = at::randn({5, config.joint_attention_dim}, generator, at::kFloat);
  sample.pooled_prompt_embeds = at::randn({config.pooled_projection_dim}, generator, at::kFloat);
  return sample;
}

}  // namespace

TEST_SUITE("kontext_validation") {
  TEST_CASE("validation writes step grids and val_loss, and leaves the training unchanged") {
    TrainingSetup with_validation("", 2);
    TrainingSetup without_validation("", 2);
    const std::string root = with_validation.dir.path().string();
    const std::string common =
        " --mode fit --set train.max_train_steps=4 --set train.checkpointing_steps=100";
    const std::string validation =
        " --set validation.enabled=true --set validation.steps=2 --set validation.max_samples=3"
        " --set validation.seed=3 --set " +
        quote("validation.dataset={init_args: {dataset_path: " + root +
              "/data, processor: {init_args: {process_type: center_crop, target_size: [32, 32]}}}}") +
        " --set " +
        quote("validation.samples=[{prompt: a listed sample, images: [" + root +
              "/input.png], height: 32, width: 32, num_inference_steps: 2}]");
    auto result = run_host("run " + quote(with_validation.config.string()) + common + validation);
    CAPTURE(result.output);
    REQUIRE(result.exit_code == 0);
    result = run_host("run " + quote(without_validation.config.string()) + common);
    CAPTURE(result.output);
    REQUIRE(result.exit_code == 0);

    const fs::path run = with_validation.run_folder();
    // Steps 2 and 4 (the end, already validated): nothing else, no temporary files.
    CHECK(file_names(run / "validation") == std::vector<std::string>{"step-2.png", "step-4.png"});
    const omni::Image grid = omni::read_image(run / "validation" / "step-4.png");
    CHECK(grid.width == 3 * 32);   // control | target | prediction
    CHECK(grid.height == 3 * 32);  // two dataset samples and the listed one
    // The listed sample has no target: its middle cell is grey.
    const auto pixel = [&](int x, int y) { return grid.pixels[(std::size_t(y) * grid.width + x) * 3]; };
    CHECK(pixel(48, 80) == 128);

    const std::vector<double> val_losses = metric(run / "metrics.jsonl", "val_loss");
    REQUIRE(val_losses.size() == 2);
    CHECK(std::isfinite(val_losses[0]));
    CHECK(val_losses[0] > 0);
    CHECK(val_losses[0] != val_losses[1]);  // the LoRA changed between them
    CHECK(metric(run / "metrics.jsonl", "loss").size() == 4);

    bool image_seen = false, loss_seen = false;
    for (const auto& entry : fs::directory_iterator(run / "tensorboard")) {
      for (const auto& event : omni::read_tensorboard_events(entry.path())) {
        for (const auto& value : event.values) {
          if (value.tag == "validation/grid" && value.image && event.step == 4) image_seen = true;
          if (value.tag == "validation/loss" && value.simple_value) loss_seen = true;
        }
      }
    }
    CHECK(image_seen);
    CHECK(loss_seen);

    // Validation used the model being trained but did not disturb it.
    CHECK(identical(read_all(run / "pytorch_lora_weights.safetensors"),
                    read_all(without_validation.run_folder() / "pytorch_lora_weights.safetensors")));
    CHECK(metric(run / "metrics.jsonl", "loss") ==
          metric(without_validation.run_folder() / "metrics.jsonl", "loss"));
  }

  TEST_CASE("a batch's loss is the mean of its samples' own losses") {
    omni::test::TempDir dir;
    flux_kontext::write_tiny_kontext_pipeline(dir.path() / "model", 3);
    flux_kontext::FluxTransformer2DModel model =
        flux_kontext::load_flux_transformer(dir.path() / "model" / "transformer", {});
    model->eval();
    flux_kontext::TrainerConfig config;
    config.data.caption_dropout_rate = 0.5;
    config.train.timestep_sampling = "logit_normal";
    config.train.seed = 11;
    flux_kontext::FluxKontextTrainer trainer(config);
    const auto a = random_cached_sample(model->config(), 1);
    const auto b = random_cached_sample(model->config(), 2);
    const auto empty = random_cached_sample(model->config(), 3);
    torch::NoGradGuard no_grad;
    auto loss = [&](std::vector<const flux_kontext::CachedSample*> samples,
                    std::vector<std::int64_t> indices) {
      return trainer.batch_loss(*model, samples, indices, 2, empty, std::nullopt).item<double>();
    };
    const double together = loss({&a, &b}, {4, 9});
    const double alone_a = loss({&a}, {4});
    const double alone_b = loss({&b}, {9});
    CAPTURE(together);
    CAPTURE(alone_a);
    CAPTURE(alone_b);
    CHECK(std::abs(together - (alone_a + alone_b) / 2) < 1e-6);
    CHECK(std::abs(loss({&b, &a}, {9, 4}) - together) < 1e-6);
    // The draws follow the sample index, not its place in the batch.
    CHECK(loss({&a}, {9}) != alone_a);
  }
}

TEST_SUITE("kontext_predict") {
  TEST_CASE("omnihost predict writes exactly --out from PNG and JPEG inputs with a trained LoRA") {
    TrainingSetup setup;
    auto result = run_host("run " + quote(setup.config.string()) +
                           " --mode fit --set train.max_train_steps=2");
    CAPTURE(result.output);
    REQUIRE(result.exit_code == 0);
    const fs::path lora = setup.run_folder() / "pytorch_lora_weights.safetensors";
    write_random_jpeg(setup.dir.path() / "photo.jpg", 48, 40, 5);
    const fs::path out = setup.dir.path() / "edits" / "result.png";
    fs::create_directories(out.parent_path());
    const std::string command =
        "predict " + quote(setup.config.string()) + " --image " +
        quote((setup.dir.path() / "photo.jpg").string()) + " --image " +
        quote((setup.dir.path() / "input.png").string()) + " --prompt " +
        quote("make it \"brighter\": now") + " --out " + quote(out.string()) +
        " --steps 2 --seed 5 --guidance 3 --lora " + quote(lora.string()) +
        " --lora-scale 0.5 --width 32 --height 48 --threads 1";
    result = run_host(command);
    CAPTURE(result.output);
    REQUIRE(result.exit_code == 0);
    const omni::Image image = omni::read_image(out);
    CHECK(image.width == 32);
    CHECK(image.height == 48);
    CHECK(file_names(out.parent_path()) == std::vector<std::string>{"result.png"});
    CHECK(result.output.find("LoRA " + lora.string() + " (scale 0.5)") != std::string::npos);
    // The config's own predict list was replaced, not added to.
    CHECK_FALSE(fs::exists(setup.output() / "predictions" / "out.png"));

    // Same request, same pixels; another seed, other pixels.
    const fs::path again = setup.dir.path() / "again.png";
    std::string repeat = command;
    repeat.replace(repeat.find(quote(out.string())), quote(out.string()).size(), quote(again.string()));
    REQUIRE(run_host(repeat).exit_code == 0);
    CHECK(omni::read_image(again).pixels == image.pixels);
    repeat.replace(repeat.find("--seed 5"), 8, "--seed 6");
    REQUIRE(run_host(repeat).exit_code == 0);
    CHECK(omni::read_image(again).pixels != image.pixels);
  }

  TEST_CASE("omnihost predict explains a missing argument") {
    TrainingSetup setup;
    const std::string config = quote(setup.config.string());
    const std::string image = " --image " + quote((setup.dir.path() / "input.png").string());
    const std::string out = " --out " + quote((setup.dir.path() / "o.png").string());
    struct Case {
      std::string arguments, message;
    };
    for (const Case& item : {Case{config + " --prompt p" + out, "predict: missing --image"},
                             Case{config + image + out, "predict: missing --prompt"},
                             Case{config + image + " --prompt p", "predict: missing --out"},
                             Case{image + " --prompt p" + out, "predict: missing the CONFIG"}}) {
      auto result = run_host("predict " + item.arguments);
      CAPTURE(result.output);
      CHECK(result.exit_code == 2);
      CHECK(result.output.find(item.message) != std::string::npos);
    }
    // The trainer checks the request with its predict schema's rules.
    const auto odd = run_host("predict " + config + image + " --prompt p" + out + " --width 40");
    CHECK(odd.exit_code == 1);
    CHECK(odd.output.find("predict: --width 40 is not a positive multiple of 16") != std::string::npos);
    CHECK_FALSE(fs::exists(setup.dir.path() / "o.png"));
  }
}

TEST_SUITE("optimizers") {
  TEST_CASE("fit with Prodigy or Adafactor, LoRA and caption dropout on, resumes exactly") {
    // AdamW's resume is the end-to-end test's; caption dropout is 0.3 in the setup.
    for (const char* optimizer : {"Prodigy", "Adafactor"}) {
      CAPTURE(optimizer);
      TrainingSetup setup("", 2);
      const std::string fit = "run " + quote(setup.config.string()) +
                              " --mode fit --set model.lora.lora_dropout=0.1"
                              " --set train.max_train_steps=4 --set "
                              "train.checkpointing_steps=2 --set optimizer.class_path=" +
                              optimizer + " --set optimizer.init_args.lr=" +
                              (std::string(optimizer) == "Prodigy" ? "1.0" : "0.001");
      auto result = run_host(fit);
      CAPTURE(result.output);
      REQUIRE(result.exit_code == 0);
      const fs::path run = setup.run_folder();
      const fs::path lora = run / "pytorch_lora_weights.safetensors";
      const omni::NamedTensors uninterrupted = read_all(lora);
      const std::vector<double> first_losses = losses(run / "metrics.jsonl");
      REQUIRE(first_losses.size() == 4);
      fs::remove(run / "metrics.jsonl");
      result = run_host(fit + " --resume " + quote((run / "checkpoints" / "checkpoint-2").string()));
      CAPTURE(result.output);
      REQUIRE(result.exit_code == 0);
      CHECK(identical(read_all(lora), uninterrupted));
      const std::vector<double> resumed_losses = losses(run / "metrics.jsonl");
      REQUIRE(resumed_losses.size() == 2);
      CHECK(resumed_losses[0] == first_losses[2]);
      CHECK(resumed_losses[1] == first_losses[3]);
    }
  }

  TEST_CASE("resuming with another optimizer than the checkpoint's is a clear error") {
    TrainingSetup setup("", 1);
    const std::string fit = "run " + quote(setup.config.string()) +
                            " --mode fit --set train.max_train_steps=2 --set train.checkpointing_steps=1";
    auto result = run_host(fit);
    REQUIRE(result.exit_code == 0);
    const fs::path checkpoint = setup.run_folder() / "checkpoints" / "checkpoint-1";
    result = run_host(fit + " --set optimizer.class_path=Prodigy --resume " + quote(checkpoint.string()));
    CAPTURE(result.output);
    CHECK(result.exit_code == 1);
    CHECK(result.output.find("Prodigy optimizer state: the archive has no 'prodigy/d'") !=
          std::string::npos);
  }
}
