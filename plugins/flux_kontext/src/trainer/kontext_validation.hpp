#pragma once
// Validation during fit: every `validation.steps` optimizer steps (and at the end) the model
// being trained samples the validation set with fixed seeds; a PNG grid (controls | target |
// prediction, one row per sample) goes to `<run>/validation/step-<N>.png` and to
// TensorBoard, and, where samples have targets, a flow-matching loss with noise and
// timesteps drawn from fixed seeds goes to metrics.jsonl (`val_loss`) and TensorBoard.
// Validation touches neither the global random generator nor the model's training state, so
// a run with validation trains exactly as one without.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "flux_kontext/trainer/flux_kontext_trainer.hpp"
#include "flux_kontext/trainer/sample_cache.hpp"
#include "trainer/kontext_predictor.hpp"
#include "omni/training/training_log.hpp"
#include "omni/image.hpp"
#include "omni/trainer.hpp"

namespace flux_kontext {

class KontextValidation {
 public:
  // Prepares the set once: `validation.dataset` goes through the cache (same files and keys
  // as the cache stage, so later runs reuse them); `validation.samples` are encoded with the
  // text encoders, which are freed again. Keeps the VAE for decoding. `mu` is fit's timestep
  // shift, if any.
  KontextValidation(const FluxKontextTrainer& trainer, const omni::StageContext& context,
                    std::filesystem::path run_dir, std::optional<double> mu);
  ~KontextValidation();

  // Whether validation runs after optimizer step `step`.
  bool due(std::int64_t step) const;
  // Validates with `model` after optimizer step `step`; returns the loss when the set has
  // targets. Leaves the model in training mode.
  std::optional<double> run(FluxTransformer2DModelImpl& model, std::int64_t step, omni::TrainingLog& log);

  // The end-of-run comparison: every sample's loss and prediction with the trained LoRA
  // switched off (the base model) and on. One grid per sample: controls | target | base |
  // LoRA. The losses are means over the samples that have targets.
  struct Comparison {
    std::optional<double> base_loss, lora_loss;
    std::vector<omni::Image> grids;
  };
  Comparison compare_with_base(FluxTransformer2DModelImpl& model);

  struct Item {
    std::vector<at::Tensor> controls;  // [3, H, W] in [-1, 1], for the grid
    at::Tensor target;                 // undefined without a target
    KontextRequest request;
    KontextSamplingSettings settings;
    std::optional<CachedSample> cached;  // for the loss
  };

 private:
  double item_loss(FluxTransformer2DModelImpl& model, std::size_t index) const;
  // The grid cells every row starts with: the controls, then the target (or grey).
  std::vector<at::Tensor> reference_cells(const Item& item) const;

  const FluxKontextTrainer& trainer_;
  std::filesystem::path run_dir_;
  std::optional<double> mu_;
  std::unique_ptr<KontextPredictor> sampler_;
  std::vector<Item> items_;
};

}  // namespace flux_kontext
