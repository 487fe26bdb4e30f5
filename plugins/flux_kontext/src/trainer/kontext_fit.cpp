// The fit stage: LoRA training of the Flux transformer on the cached samples with the
// flow-matching objective, checkpoints that resume exactly, and the final LoRA file.
#include <chrono>
#include <cmath>
#include <map>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/serialize/input-archive.h>

#include "flux_kontext/trainer/flux_kontext_trainer.hpp"
#include "flux_kontext/trainer/kontext_components.hpp"
#include "omni/training/lora_adapters.hpp"
#include "flux_kontext/lora/lora_files.hpp"
#include "omni/training/gradient_clipping.hpp"
#include "omni/training/lr_schedule.hpp"
#include "omni/training/optimizers.hpp"
#include "flux_kontext/trainer/sample_randomness.hpp"
#include "omni/training/timestep_sampling.hpp"
#include "omni/training/training_checkpoint.hpp"
#include "trainer/kontext_cache_plan.hpp"
#include "omni/training/training_log.hpp"
#include "trainer/kontext_validation.hpp"
#include "trainer/run_report.hpp"
#include "omni/cuda_runtime.hpp"
#include "omni/distributed.hpp"
#include "omni/error.hpp"
#include "omni/malloc_tuning.hpp"

namespace flux_kontext {
namespace {

// A batch tensor made on the host, on its way to the fit device: from pinned memory with a
// non-blocking copy on CUDA, so that the copy overlaps the previous step's queued work and the
// host never waits for it.
at::Tensor to_fit_device(const at::Tensor& host, const c10::Device& device) {
  return omni::cuda::to_device(omni::cuda::pinned_for(host, device), device);
}

std::string bucket_key(const SampleSizes& sizes) {
  std::string key = fmt::format("{}x{}", sizes.target.height, sizes.target.width);
  for (const auto& control : sizes.controls) key += fmt::format("|{}x{}", control.height, control.width);
  return key;
}

// The batches of one epoch across all ranks: samples in the epoch's order, grouped by bucket
// (one shape per batch) into batches of `batch_size` (data.batch_size x ranks); a bucket's
// last, smaller batch comes at the end of the epoch. Every rank computes the same list.
std::vector<std::vector<std::int64_t>> epoch_batches(const CachePlan& plan, std::uint64_t seed,
                                                     std::int64_t epoch, const DataConfig& data,
                                                     std::int64_t batch_size) {
  const auto order = epoch_order(seed, static_cast<std::uint64_t>(epoch),
                                 static_cast<std::int64_t>(plan.samples.size()), data.shuffle);
  std::map<std::string, std::vector<std::int64_t>> pending;
  std::vector<std::string> first_seen;
  std::vector<std::vector<std::int64_t>> batches;
  for (std::int64_t index : order) {
    const std::string key = bucket_key(plan.samples[static_cast<std::size_t>(index)].sizes);
    auto& bucket = pending[key];
    if (bucket.empty() && std::find(first_seen.begin(), first_seen.end(), key) == first_seen.end()) {
      first_seen.push_back(key);
    }
    bucket.push_back(index);
    if (static_cast<std::int64_t>(bucket.size()) == batch_size) {
      batches.push_back(std::move(bucket));
      bucket.clear();
    }
  }
  for (const std::string& key : first_seen) {
    if (!pending[key].empty()) batches.push_back(std::move(pending[key]));
  }
  return batches;
}

// This rank's share of a global batch: a contiguous slice, as even as the count allows (the
// full batches give every rank data.batch_size samples; a bucket's last batch may leave a
// rank none).
std::vector<std::int64_t> rank_share(const std::vector<std::int64_t>& batch, int rank, int ranks) {
  const std::size_t count = batch.size();
  const std::size_t begin = count * static_cast<std::size_t>(rank) / static_cast<std::size_t>(ranks);
  const std::size_t end = count * static_cast<std::size_t>(rank + 1) / static_cast<std::size_t>(ranks);
  return {batch.begin() + static_cast<std::ptrdiff_t>(begin), batch.begin() + static_cast<std::ptrdiff_t>(end)};
}

c10::ScalarType base_dtype(const std::string& mixed_precision) {
  if (mixed_precision == "bf16") return at::kBFloat16;
  if (mixed_precision == "fp16") return at::kHalf;
  return at::kFloat;
}

}  // namespace

// One micro-batch's loss: x_t = (1 - sigma) x0 + sigma * noise, the model predicts the
// velocity noise - x0 for the target tokens while seeing the clean control tokens after them.
at::Tensor FluxKontextTrainer::batch_loss(FluxTransformer2DModelImpl& model,
                                          const std::vector<const CachedSample*>& samples,
                                          const std::vector<std::int64_t>& indices,
                                          std::int64_t epoch, const CachedSample& empty_prompt,
                                          std::optional<double> mu) const {
  const TrainConfig& train = config_.train;
  const auto seed = static_cast<std::uint64_t>(train.seed);
  const c10::Device device = model.device();
  omni::TimestepSampling sampling;
  sampling.kind = train.timestep_sampling;
  sampling.logit_mean = train.logit_mean;
  sampling.logit_std = train.logit_std;
  sampling.sigmoid_scale = train.sigmoid_scale;
  sampling.mu = mu;

  std::vector<at::Tensor> x0, noise, sigmas, prompt_embeds, pooled, weights;
  const std::size_t control_count = samples.front()->control_latents.size();
  std::vector<std::vector<at::Tensor>> controls(control_count);
  for (std::size_t b = 0; b < samples.size(); ++b) {
    const CachedSample& sample = *samples[b];
    const auto index = static_cast<std::uint64_t>(indices[b]);
    const auto e = static_cast<std::uint64_t>(epoch);
    if (sample.control_latents.size() != control_count) {
      throw omni::Error("a batch mixes samples with different numbers of control images");
    }
    x0.push_back(sample.target_latents);
    noise.push_back(at::randn(sample.target_latents.sizes(),
                              draw_generator(seed, e, index, DrawPurpose::noise), at::kFloat));
    sigmas.push_back(at::full({1}, omni::sample_sigma(sampling, draw_generator(seed, e, index,
                                                                         DrawPurpose::timestep)),
                              at::kFloat));
    const bool drop = config_.data.caption_dropout_rate > 0 &&
                      draw_uniform(seed, e, index, DrawPurpose::caption_dropout) <
                          config_.data.caption_dropout_rate;
    const auto& drop_keys = config_.cache.prompt_empty_drop_keys;
    auto dropped = [&](const char* key) {
      return drop && std::find(drop_keys.begin(), drop_keys.end(), key) != drop_keys.end();
    };
    prompt_embeds.push_back(dropped("prompt_embeds") ? empty_prompt.prompt_embeds : sample.prompt_embeds);
    pooled.push_back(dropped("pooled_prompt_embeds") ? empty_prompt.pooled_prompt_embeds
                                                     : sample.pooled_prompt_embeds);
    for (std::size_t c = 0; c < control_count; ++c) controls[c].push_back(sample.control_latents[c]);
    const bool masked =
        config_.loss.kind != "mse" && config_.data.use_edit_mask && sample.mask.defined();
    weights.push_back(masked ? config_.loss.background_weight +
                                   (config_.loss.foreground_weight - config_.loss.background_weight) *
                                       sample.mask
                             : at::ones({sample.target_latents.size(0)}, at::kFloat));
  }
  at::Tensor clean = to_fit_device(at::stack(x0), device);
  at::Tensor eps = to_fit_device(at::stack(noise), device);
  at::Tensor sigma = to_fit_device(at::cat(sigmas), device);
  at::Tensor s = sigma.view({-1, 1, 1});
  at::Tensor noisy = (1 - s) * clean + s * eps;
  std::vector<at::Tensor> tokens{noisy};
  std::vector<PackedGrid> grids;
  for (std::size_t c = 0; c < control_count; ++c) {
    tokens.push_back(to_fit_device(at::stack(controls[c]), device));
    grids.push_back(samples.front()->control_grids[c]);
  }
  FluxTransformerInputs inputs;
  inputs.hidden_states = at::cat(tokens, 1);
  inputs.encoder_hidden_states = to_fit_device(at::stack(prompt_embeds), device);
  inputs.pooled_projections = to_fit_device(at::stack(pooled), device);
  inputs.timestep = sigma;
  if (model.config().guidance_embeds) {
    inputs.guidance = at::full({static_cast<std::int64_t>(samples.size())}, train.guidance,
                               sigma.options());
  }
  inputs.img_ids = to_fit_device(image_ids(samples.front()->target_grid, grids), device);
  inputs.txt_ids = at::zeros({inputs.encoder_hidden_states.size(1), 3}, sigma.options());
  at::Tensor output = model.forward(inputs);
  at::Tensor prediction = output.narrow(1, 0, clean.size(1)).to(at::kFloat);
  at::Tensor per_token = (prediction - (eps - clean)).pow(2).mean(-1);
  at::Tensor weighted = per_token * to_fit_device(at::stack(weights), device);  // [B, tokens]
  const LossConfig& loss = config_.loss;
  if (loss.kind == "attention_mask_mse") {
    // qflux's AttentionMaskMseLoss over a batch without padding tokens: the sum of the token
    // losses, or that sum over (tokens + eps).
    if (loss.reduction == "sum") return weighted.sum();
    return weighted.sum() / (static_cast<double>(weighted.numel()) + loss.eps);
  }
  return weighted.mean();
}

namespace {

// Where a fit writes and where it starts: a new run folder, or the run of the checkpoint that
// `--resume DIR|latest` names, with that checkpoint's contents.
struct FitRun {
  std::filesystem::path run_dir;
  std::optional<omni::CheckpointContents> resumed;
};

// `--resume latest` with no checkpoint yet starts a new run, so that a fixed job script (a
// preemptible machine, a Slurm requeue) launches the first start and every restart alike.
FitRun open_fit_run(const std::optional<std::string>& resume, const std::string& output_dir,
                    omni::ProcessGroup& group) {
  FitRun run;
  if (!group.is_main()) {
    // Rank 0 chooses the checkpoint and the run folder (one choice, even for `latest` while
    // checkpoints come and go); this rank resumes from the same checkpoint and writes nothing.
    const std::string checkpoint = group.share_from_main("checkpoint", "");
    run.run_dir = group.share_from_main("run folder", "");
    if (!checkpoint.empty()) run.resumed = omni::load_checkpoint(checkpoint);
    return run;
  }
  std::optional<std::filesystem::path> checkpoint;
  if (resume && *resume == "latest") {
    checkpoint = omni::latest_checkpoint(output_dir);
    if (!checkpoint) {
      fmt::print("fit: --resume latest: no complete checkpoint under '{}' yet; starting a new run\n",
                 output_dir);
    }
  } else if (resume) {
    checkpoint = std::filesystem::path(*resume);
  }
  if (checkpoint) {
    const std::filesystem::path& folder = *checkpoint;
    run.resumed = omni::load_checkpoint(folder);
    run.run_dir = std::filesystem::absolute(folder).parent_path().parent_path();
    fmt::print("fit: resuming {} at step {}\n", folder.string(), run.resumed->position.step);
  } else {
    run.run_dir = omni::create_run_folder(output_dir);
  }
  fmt::print("fit: run folder {}\n", run.run_dir.string());
  if (group.is_distributed()) {
    group.share_from_main("checkpoint", checkpoint ? checkpoint->string() : "");
    group.share_from_main("run folder", run.run_dir.string());
  }
  return run;
}

// Every planned sample from the cache, in memory: small next to the transformer.
std::vector<CachedSample> load_planned_samples(const CachePlan& plan) {
  std::vector<CachedSample> samples;
  for (const PlannedSample& planned : plan.samples) {
    auto sample = load_cached_sample(planned.file, planned.key);
    if (!sample) {
      throw omni::Error(fmt::format("cache entry of sample '{}' is missing or stale ('{}'); run "
                                    "the cache stage",
                                    planned.source.id, planned.file.string()));
    }
    samples.push_back(std::move(*sample));
  }
  return samples;
}

// The model being trained: the frozen transformer with its LoRA adapters (new, seeded by
// train.seed, or loaded from model.lora.pretrained_weight), and the adapters' tensors.
struct LoraModel {
  FluxTransformer2DModel model{nullptr};
  omni::LoraSpec spec;
  omni::NamedTensors trainable;
  std::vector<at::Tensor> params;
};

LoraModel load_lora_model(const TrainerConfig& config, const KontextModelPaths& paths,
                          const c10::Device& device) {
  const TrainConfig& train = config.train;
  FluxTransformerLoadOptions load_options;
  load_options.dtype = base_dtype(train.mixed_precision);
  load_options.device = device;
  LoraModel lora;
  lora.model = load_flux_transformer(paths.transformer, load_options);
  lora.model->set_gradient_checkpointing(train.gradient_checkpointing);
  apply_base_loras(*lora.model, config.model.base_loras);
  lora.spec = lora_spec(config.model.lora);
  at::manual_seed(static_cast<std::uint64_t>(train.seed));  // the adapters' initial weights
  if (config.model.lora.pretrained_weight) {
    load_lora_file(*config.model.lora.pretrained_weight, *lora.model);
  } else {
    omni::attach_lora(*lora.model, lora.spec);
  }
  omni::freeze_all_but_lora(*lora.model);
  lora.model->train();
  lora.trainable = omni::lora_parameters(*lora.model);
  for (auto& item : lora.trainable) lora.params.push_back(item.second);
  return lora;
}

// A resumed checkpoint's LoRA weights and optimizer state, checked against this config's
// LoRA; returns the position to continue from.
omni::TrainingPosition restore_checkpoint(const omni::CheckpointContents& resumed,
                                    omni::NamedTensors& trainable,
                                    torch::optim::Optimizer& optimizer, const c10::Device& device) {
  if (resumed.trainable.size() != trainable.size()) {
    throw omni::Error(fmt::format("--resume: the checkpoint holds {} LoRA tensors but this "
                                  "config's LoRA has {} (different lora settings?)",
                                  resumed.trainable.size(), trainable.size()));
  }
  std::map<std::string, at::Tensor> stored(resumed.trainable.begin(), resumed.trainable.end());
  torch::NoGradGuard no_grad;
  for (auto& [name, tensor] : trainable) {
    auto found = stored.find(name);
    if (found == stored.end() || !found->second.sizes().equals(tensor.sizes())) {
      throw omni::Error(fmt::format("--resume: LoRA tensor '{}' is missing from the checkpoint "
                                    "or has another shape", name));
    }
    tensor.copy_(found->second);
  }
  torch::serialize::InputArchive archive;
  archive.load_from(resumed.optimizer_file.string(), device);
  optimizer.load(archive);
  return resumed.position;
}

// The timestep shift's mu from the first sample's size, when train.shift_timesteps asks.
std::optional<double> timestep_shift_mu(const TrainConfig& train, const KontextModelPaths& paths,
                                        const std::vector<CachedSample>& samples) {
  if (!train.shift_timesteps) return std::nullopt;
  FlowMatchEulerDiscreteScheduler scheduler(FlowMatchSchedulerConfig::load(paths.scheduler));
  const auto& first = samples.front().target_grid;
  return scheduler.mu_for(first.rows * first.cols);
}

omni::LrSchedule lr_schedule_of(const TrainerConfig& config) {
  omni::LrSchedule schedule;
  schedule.type = config.lr_scheduler.scheduler_type;
  schedule.warmup_steps = config.lr_scheduler.warmup_steps;
  schedule.total_steps = config.train.max_train_steps;
  schedule.num_cycles = config.lr_scheduler.num_cycles;
  schedule.power = config.lr_scheduler.power;
  return schedule;
}

}  // namespace

void FluxKontextTrainer::fit(const omni::StageContext& context) {
  components_ = context.components;
  const TrainConfig& train = config_.train;
  // Without a cache (cache.use_cache: false) the data set is encoded into a private folder
  // that is read into memory below and removed; the text encoders and the prompt enhancer
  // then run here and are unloaded before training.
  std::optional<EncodingSetup> encoding(std::in_place, config_, "encodings");
  CachePlan plan = prepare_cache(context, encoding->config);
  // After prepare_cache, which makes the model of a quickstart's first run (make_missing).
  KontextModelPaths paths = resolve_model_paths(config_.model);
  // Data parallelism: every rank trains the same LoRA on its share of each global batch, and
  // the gradients are summed across ranks before each step. Only rank 0 writes.
  omni::ProcessGroup& group = omni::process_group_of(context);
  const int rank = group.rank();
  const int ranks = group.world_size();
  const bool writer = group.is_main();
  const FitRun run = open_fit_run(context.resume, config_.logging.output_dir, group);
  const std::filesystem::path& run_dir = run.run_dir;
  const std::vector<CachedSample> samples = load_planned_samples(plan);
  CachedSample empty_prompt = *load_cached_sample(plan.empty_prompt_file, plan.empty_prompt_key);
  encoding.reset();
  omni::release_free_memory();  // what the encoders left behind, before the transformer loads

  const c10::Device device = component_device(train.fit_device.dit);
  LoraModel lora = load_lora_model(config_, paths, device);
  FluxTransformer2DModel& model = lora.model;
  const omni::LoraSpec& spec = lora.spec;
  omni::NamedTensors& trainable = lora.trainable;
  std::vector<at::Tensor>& params = lora.params;
  auto optimizer = omni::make_optimizer(config_.optimizer, params);
  omni::TrainingPosition position;
  if (run.resumed) position = restore_checkpoint(*run.resumed, trainable, *optimizer, device);
  const bool resumed = run.resumed.has_value();
  const std::int64_t global_batch = static_cast<std::int64_t>(config_.data.batch_size) * ranks;
  if (ranks > 1) {
    fmt::print("fit: rank {} of {}: batch {} per rank, global batch {}\n", rank, ranks,
               config_.data.batch_size, global_batch);
    std::fflush(stdout);
  }
  if (resumed && position.global_batch_size != 0 && position.global_batch_size != global_batch &&
      position.cursor > 0) {
    // The checkpoint's cursor counts batches of its own global size, which this run cuts
    // differently: the rest of that epoch is skipped rather than guessed.
    fmt::print("fit: the checkpoint was written with a global batch of {} samples and this run "
               "has {}; the rest of epoch {} is skipped (the data order continues exactly only "
               "with the same global batch)\n",
               position.global_batch_size, global_batch, position.epoch);
    position.epoch += 1;
    position.cursor = 0;
  }
  position.global_batch_size = global_batch;

  const std::optional<double> mu = timestep_shift_mu(train, paths, samples);
  const omni::LrSchedule schedule = lr_schedule_of(config_);
  std::optional<omni::TrainingLog> log;
  if (writer) log.emplace(run_dir, config_.logging.report_to != "none", train.max_train_steps, position);
  // Validation (kontext_validation.hpp) samples with the model being trained, on rank 0.
  std::unique_ptr<KontextValidation> validation;
  if (config_.validation.enabled && writer) {
    validation = std::make_unique<KontextValidation>(*this, context, run_dir, mu);
  }
  std::int64_t last_validated = -1;
  auto validate = [&]() {
    validation->run(*model, position.step, *log);
    last_validated = position.step;
  };
  auto write_lora = [&](const std::filesystem::path& file) { save_lora_diffusers(file, *model, spec); };
  auto checkpoint = [&]() {
    if (!writer) return;
    omni::save_checkpoint(run_dir, position, trainable, *optimizer, config_.config_yaml, write_lora,
                    train.keep_last_n);
  };

  // The step's loss and gradient norm stay on the device; the host reads them only when the
  // log writes (every train.log_every steps, and before a checkpoint, a validation or the
  // end), so that a GPU step never waits for the host in between.
  at::Tensor window_loss;  // sum over the steps since the last log line of each step's loss
  at::Tensor last_grad_norm;
  std::int64_t window_steps = 0;
  double last_lr = 0;
  auto write_log = [&]() {
    if (window_steps == 0) return;
    if (!writer) {
      window_loss = at::Tensor();
      window_steps = 0;
      return;
    }
    const double loss = (window_loss / static_cast<double>(window_steps)).item<double>();
    log->step(position, loss, last_lr, last_grad_norm.item<double>());
    position.smoothed_loss = log->smoothed_loss();
    window_loss = at::Tensor();
    window_steps = 0;
  };

  const auto seed = static_cast<std::uint64_t>(train.seed);
  std::int64_t last_saved = resumed ? position.step : -1;
  bool stopped = false;
  // Steps skipped for a non-finite loss or gradient since the last good one.
  int bad_steps = 0;
  std::vector<std::string> step_sample_ids;  // the samples of the step being accumulated
  const bool summed_loss = config_.loss.kind == "attention_mask_mse" && config_.loss.reduction == "sum";
  // Host time in the step's gradient all-reduce (waiting for the slowest rank included).
  double reduce_seconds = 0;
  std::int64_t reduce_steps = 0;
  while (position.step < train.max_train_steps && !stopped) {
    auto batches = epoch_batches(plan, seed, position.epoch, config_.data, global_batch);
    std::int64_t micro = 0;
    at::Tensor accumulated;  // the micro-batches' summed loss, on the device
    for (std::int64_t b = position.cursor; b < static_cast<std::int64_t>(batches.size()); ++b) {
      const auto& global = batches[static_cast<std::size_t>(b)];
      const std::vector<std::int64_t> batch = rank_share(global, rank, ranks);
      std::vector<const CachedSample*> members;
      for (std::int64_t index : batch) members.push_back(&samples[static_cast<std::size_t>(index)]);
      at::manual_seed(draw_seed(seed, static_cast<std::uint64_t>(position.epoch),
                                static_cast<std::uint64_t>(b), DrawPurpose::micro_batch));
      for (std::int64_t index : global) {
        step_sample_ids.push_back(plan.samples[static_cast<std::size_t>(index)].source.id);
      }
      at::Tensor loss;
      if (batch.empty()) {
        // A bucket's last batch left this rank no share: it adds nothing but takes part.
        loss = at::zeros({}, at::TensorOptions().dtype(at::kFloat).device(device));
      } else {
        loss = batch_loss(*model, members, batch, position.epoch, empty_prompt, mu);
        // The global batch's loss is the sum over ranks of each share's loss weighted by its
        // size: a mean over all samples for the mean reductions, a sum for `sum`.
        if (!summed_loss && batch.size() != global.size()) {
          loss = loss * (static_cast<double>(batch.size()) / static_cast<double>(global.size()));
        }
        (loss / static_cast<double>(train.gradient_accumulation_steps)).backward();
      }
      accumulated = accumulated.defined() ? accumulated + loss.detach() : loss.detach();
      if (++micro < train.gradient_accumulation_steps && b + 1 < static_cast<std::int64_t>(batches.size())) {
        continue;
      }
      bool stop_now = context.stop_requested && context.stop_requested->load();
      if (ranks > 1) {
        // One set of collectives per step: the gradients (zeros where this rank's share was
        // empty), this rank's loss and whether it was told to stop.
        std::vector<at::Tensor> reduced;
        for (at::Tensor& param : params) {
          if (!param.grad().defined()) param.mutable_grad() = at::zeros_like(param);
          reduced.push_back(param.grad());
        }
        at::Tensor step_state = at::stack({accumulated.to(at::kFloat),
                                           at::full({}, stop_now ? 1.0 : 0.0, accumulated.options().dtype(at::kFloat))});
        reduced.push_back(step_state);
        const auto reduce_start = std::chrono::steady_clock::now();
        group.all_reduce_sum_in_buckets(reduced);
        reduce_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - reduce_start).count();
        reduce_steps += 1;
        accumulated = step_state[0];
        if (step_state[1].item<double>() > 0 && !stop_now) {
          stop_now = true;
          group.note_stop_by_peer();
          fmt::print("fit: another rank was told to stop; rank {} stops with it\n", rank);
        }
      }
      const double lr = config_.optimizer.lr * omni::lr_factor(schedule, position.step, config_.optimizer.lr);
      omni::set_learning_rate(*optimizer, lr);
      const at::Tensor grad_norm = omni::clip_grad_norm(params, train.max_grad_norm);
      // A NaN or infinite loss or gradient would poison the LoRA and the optimizer's moments
      // for good: such a step is dropped whole. (One host read per step: the price of never
      // writing a bad update.)
      const bool finite = at::isfinite(grad_norm).logical_and(at::isfinite(accumulated).all()).item<bool>();
      if (!finite) {
        optimizer->zero_grad();
        position.cursor = b + 1;
        micro = 0;
        accumulated = at::Tensor();
        bad_steps += 1;
        fmt::print("fit: step {} skipped: the loss or the gradient is not finite (epoch {}, "
                   "samples {}); {} in a row\n",
                   position.step + 1, position.epoch, fmt::join(step_sample_ids, ", "), bad_steps);
        step_sample_ids.clear();
        if (bad_steps >= train.max_consecutive_bad_steps) {
          write_log();
          if (last_saved != position.step) checkpoint();
          throw omni::Error(fmt::format(
              "fit: {} steps in a row had a non-finite loss or gradient "
              "(train.max_consecutive_bad_steps); the last good state, step {}, is checkpointed "
              "at '{}'. Check the samples named above (their images, masks and cache entries) "
              "or lower the learning rate",
              bad_steps, position.step, omni::checkpoint_folder(run_dir, position.step).string()));
        }
        continue;
      }
      bad_steps = 0;
      step_sample_ids.clear();
      last_grad_norm = grad_norm;
      optimizer->step();
      optimizer->zero_grad();
      position.step += 1;
      position.cursor = b + 1;
      const at::Tensor step_loss = accumulated / static_cast<double>(micro);
      window_loss = window_loss.defined() ? window_loss + step_loss : step_loss;
      window_steps += 1;
      last_lr = lr;
      micro = 0;
      accumulated = at::Tensor();
      const bool validating = validation && validation->due(position.step);
      const bool checkpointing = position.step % train.checkpointing_steps == 0;
      const bool last = position.step >= train.max_train_steps || stop_now;
      if (position.step % train.log_every == 0 || validating || checkpointing || last) write_log();
      if (validating) validate();
      if (checkpointing) {
        checkpoint();
        last_saved = position.step;
      }
      if (position.step >= train.max_train_steps) break;
      if (stop_now) {
        stopped = true;
        break;
      }
    }
    if (!stopped && position.step < train.max_train_steps) {
      position.epoch += 1;
      position.cursor = 0;
    }
    optimizer->zero_grad();  // gradients of an unfinished accumulation are not carried over
    step_sample_ids.clear();
  }
  write_log();
  if (last_saved != position.step) checkpoint();
  if (reduce_steps > 0) {
    fmt::print("fit: rank {}: gradient all-reduce {:.2f} ms per step over {} steps\n", rank,
               1000.0 * reduce_seconds / static_cast<double>(reduce_steps), reduce_steps);
  }
  if (stopped) {
    fmt::print("fit: stopped at step {}; continue with --resume {}\n", position.step,
               omni::checkpoint_folder(run_dir, position.step).string());
    return;
  }
  if (!writer) {
    fmt::print("fit: rank {} done, {} steps; rank 0 writes the LoRA\n", rank, position.step);
    return;
  }
  if (validation && last_validated != position.step) validate();
  const std::filesystem::path lora_file = run_dir / "pytorch_lora_weights.safetensors";
  write_lora(lora_file);
  fmt::print("fit: done, {} steps; LoRA written to {}\n", position.step, lora_file.string());

  RunReport report;
  report.run_dir = run_dir;
  report.lora_file = lora_file;
  report.quickstart_targets = config_.make_missing.dataset.has_value();
  report.batch_size = config_.data.batch_size;
  report.ranks = ranks;
  report.gradient_accumulation_steps = train.gradient_accumulation_steps;
  if (validation && config_.validation.compare_base) {
    KontextValidation::Comparison comparison = validation->compare_with_base(*model);
    report.held_out_base_loss = comparison.base_loss;
    report.held_out_lora_loss = comparison.lora_loss;
    report.held_out_grids = std::move(comparison.grids);
  }
  write_run_report(report);
}

}  // namespace flux_kontext
