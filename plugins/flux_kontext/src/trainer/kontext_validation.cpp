#include "trainer/kontext_validation.hpp"

#include <algorithm>
#include <functional>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "flux_kontext/trainer/kontext_components.hpp"
#include "omni/training/lora_adapters.hpp"
#include "trainer/kontext_cache_plan.hpp"
#include "omni/error.hpp"
#include "omni/image_io.hpp"
#include "omni/image_tensor.hpp"
#include "omni/image_transforms.hpp"

namespace flux_kontext {
namespace fs = std::filesystem;
namespace {

// An image file as a [3, H, W] grid cell of the given size.
at::Tensor grid_cell(const fs::path& file, const omni::ImageSize& size) {
  return omni::resize(omni::image_to_tensor(omni::read_image(file)), size.height, size.width,
                      "bilinear");
}

// Rows of cells side by side, rows stacked; short rows are filled with grey on the right.
at::Tensor assemble_grid(const std::vector<std::vector<at::Tensor>>& rows) {
  std::vector<at::Tensor> joined;
  std::int64_t width = 0;
  for (const auto& cells : rows) {
    joined.push_back(at::cat(cells, 2));
    width = std::max(width, joined.back().size(2));
  }
  for (at::Tensor& row : joined) {
    if (row.size(2) < width) {
      row = at::cat({row, at::zeros({3, row.size(1), width - row.size(2)}, row.options())}, 2);
    }
  }
  return at::cat(joined, 1);
}

// Model loading initialises modules from the global CPU generator before reading their
// weights; restoring its state keeps training's draws (LoRA dropout) the same with or without
// validation.
class GlobalGeneratorGuard {
 public:
  GlobalGeneratorGuard() : generator_(at::detail::getDefaultCPUGenerator()), state_(generator_.get_state()) {}
  ~GlobalGeneratorGuard() { generator_.set_state(state_); }

 private:
  at::Generator generator_;
  at::Tensor state_;
};

// Puts the model back into training mode however run() leaves.
struct TrainingModeRestorer {
  FluxTransformer2DModelImpl& model;
  ~TrainingModeRestorer() { model.train(); }
};

}  // namespace

KontextValidation::KontextValidation(const FluxKontextTrainer& trainer,
                                     const omni::StageContext& context, fs::path run_dir,
                                     std::optional<double> mu)
    : trainer_(trainer), run_dir_(std::move(run_dir)), mu_(mu) {
  GlobalGeneratorGuard keep_training_draws;
  const TrainerConfig& config = trainer.config();
  const ValidationConfig& validation = config.validation;
  const auto limit = static_cast<std::size_t>(validation.max_samples);
  // Dataset samples are encoded as fit encodes training samples: through the cache, or into
  // a private folder removed at the end of this constructor when cache.use_cache is false.
  const EncodingSetup encoding(config, "validation");
  std::unique_ptr<omni::PromptEnhancer> enhancer =
      trainer.make_prompt_enhancer(context, encoding.config.cache.devices.prompt_enhancer);

  // Their latents and prompt embeddings are what the loss needs, and sampling starts from the
  // same control latents.
  std::vector<std::pair<PlannedSample, CachedSample>> cached;
  if (validation.dataset) {
    KontextModelPaths paths = resolve_model_paths(config.model);
    CachePlan plan = plan_cache(encoding.config, *validation.dataset, paths,
                                {enhancer ? enhancer->identity() : "", trainer.position_id_scheme()});
    if (plan.samples.size() > limit) plan.samples.resize(limit);
    fill_cache(encoding.config, plan, paths, CacheDevices::from(encoding.config.cache.devices),
               enhancer.get(), context.stop_requested, context.components);
    for (const PlannedSample& planned : plan.samples) {
      std::optional<CachedSample> sample = load_cached_sample(planned.file, planned.key);
      if (!sample) {
        throw omni::Error(fmt::format("validation: the cache entry of sample '{}' ('{}') is "
                                      "missing after caching (stopped?)",
                                      planned.source.id, planned.file.string()));
      }
      cached.emplace_back(planned, std::move(*sample));
    }
  }

  const std::size_t listed = std::min(validation.samples.size(), limit - std::min(limit, cached.size()));
  sampler_ = std::make_unique<KontextPredictor>(trainer, config, enhancer.get(),
                                                config.train.fit_device, listed > 0);
  const std::int64_t patch = sampler_->pixels_per_token();
  const PredictConfig& predict = config.predict;
  for (auto& [planned, sample] : cached) {
    Item item;
    item.request.size = {static_cast<int>(sample.target_grid.cols * patch),
                         static_cast<int>(sample.target_grid.rows * patch)};
    item.request.control_tokens = at::cat(sample.control_latents, 0).unsqueeze(0);
    item.request.grids = sample.control_grids;
    item.request.prompt = {sample.prompt_embeds.unsqueeze(0), sample.pooled_prompt_embeds.unsqueeze(0),
                           at::zeros({sample.prompt_embeds.size(0), 3}, at::kFloat)};
    item.settings.steps = predict.num_inference_steps;
    item.settings.guidance_scale = predict.guidance_scale;
    item.settings.seed = validation.seed + static_cast<long>(items_.size());
    for (const fs::path& control : planned.source.controls) {
      item.controls.push_back(grid_cell(control, item.request.size));
    }
    if (!planned.source.target.empty()) item.target = grid_cell(planned.source.target, item.request.size);
    item.cached = std::move(sample);
    items_.push_back(std::move(item));
  }
  for (std::size_t i = 0; i < listed; ++i) {
    const ValidationSample& listed_sample = validation.samples[i];
    PredictSample request;
    request.prompt = listed_sample.prompt;
    request.images = listed_sample.images;
    request.negative_prompt = listed_sample.negative_prompt;
    request.height = listed_sample.height;
    request.width = listed_sample.width;
    Item item;
    item.request = sampler_->encode(request, /*with_negative=*/false);
    item.settings.steps = listed_sample.num_inference_steps;
    item.settings.guidance_scale = listed_sample.guidance_scale.value_or(predict.guidance_scale);
    item.settings.seed = validation.seed + static_cast<long>(items_.size());
    for (const std::string& image : listed_sample.images) {
      item.controls.push_back(grid_cell(image, item.request.size));
    }
    items_.push_back(std::move(item));
  }
  sampler_->release_text_encoders();
  fmt::print("fit: validating {} sample(s) every {} steps\n", items_.size(), validation.steps);
}

KontextValidation::~KontextValidation() = default;

bool KontextValidation::due(std::int64_t step) const {
  return step > 0 && step % trainer_.config().validation.steps == 0;
}

double KontextValidation::item_loss(FluxTransformer2DModelImpl& model, std::size_t index) const {
  // An epoch number training never reaches: the loss draws its noise and timesteps per
  // sample from (seed, this epoch, index), the same at every validation. One sample per
  // batch, with itself as the "empty prompt": caption dropout, which training applies,
  // changes nothing here.
  const std::int64_t epoch = -1 - trainer_.config().validation.seed;
  const Item& item = items_[index];
  return trainer_.batch_loss(model, {&*item.cached}, {static_cast<std::int64_t>(index)}, epoch,
                             *item.cached, mu_)
      .item<double>();
}

std::vector<at::Tensor> KontextValidation::reference_cells(const Item& item) const {
  std::vector<at::Tensor> cells = item.controls;
  const omni::ImageSize& size = item.request.size;
  cells.push_back(item.target.defined() ? item.target : at::zeros({3, size.height, size.width}));
  return cells;
}

std::optional<double> KontextValidation::run(FluxTransformer2DModelImpl& model, std::int64_t step,
                                             omni::TrainingLog& log) {
  torch::NoGradGuard no_grad;
  model.eval();  // no LoRA dropout, and no draws from the global generator
  TrainingModeRestorer restore{model};
  double loss_sum = 0;
  int loss_count = 0;
  std::vector<std::vector<at::Tensor>> rows;
  for (std::size_t i = 0; i < items_.size(); ++i) {
    const Item& item = items_[i];
    if (item.cached) {
      loss_sum += item_loss(model, i);
      ++loss_count;
    }
    std::vector<at::Tensor> cells = reference_cells(item);
    cells.push_back(omni::image_to_tensor(sampler_->render(model, item.request, item.settings)));
    rows.push_back(std::move(cells));
  }
  const omni::Image grid = omni::tensor_to_image(assemble_grid(rows));
  const fs::path file = run_dir_ / "validation" / fmt::format("step-{}.png", step);
  fs::create_directories(file.parent_path());
  omni::write_png(file, grid);
  std::optional<double> loss;
  if (loss_count > 0) loss = loss_sum / loss_count;
  log.validation(step, loss, grid);
  fmt::print("validation at step {}: {}{}\n", step, file.string(),
             loss ? fmt::format(", val_loss {:.4f}", *loss) : "");
  return loss;
}

KontextValidation::Comparison KontextValidation::compare_with_base(FluxTransformer2DModelImpl& model) {
  torch::NoGradGuard no_grad;
  model.eval();
  TrainingModeRestorer restore{model};
  // The base model is the same model with the trained adapters' scale at zero (stacked base
  // LoRAs, part of the base, stay on).
  auto adapters = omni::lora_linears(model);
  std::vector<double> scales;
  for (auto& [name, linear] : adapters) scales.push_back(linear->lora_scale);
  auto set_lora = [&](bool on) {
    for (std::size_t a = 0; a < adapters.size(); ++a) adapters[a].second->lora_scale = on ? scales[a] : 0.0;
  };
  struct ScaleRestorer {
    std::function<void(bool)> set;
    ~ScaleRestorer() { set(true); }
  } restore_scales{set_lora};

  Comparison comparison;
  double base_sum = 0, lora_sum = 0;
  int loss_count = 0;
  for (std::size_t i = 0; i < items_.size(); ++i) {
    const Item& item = items_[i];
    std::vector<at::Tensor> cells = reference_cells(item);
    for (bool on : {false, true}) {
      set_lora(on);
      if (item.cached) (on ? lora_sum : base_sum) += item_loss(model, i);
      cells.push_back(omni::image_to_tensor(sampler_->render(model, item.request, item.settings)));
    }
    if (item.cached) ++loss_count;
    comparison.grids.push_back(omni::tensor_to_image(assemble_grid({cells})));
  }
  if (loss_count > 0) {
    comparison.base_loss = base_sum / loss_count;
    comparison.lora_loss = lora_sum / loss_count;
  }
  return comparison;
}

}  // namespace flux_kontext
