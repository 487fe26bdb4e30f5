#pragma once
// The FluxKontext LoRA trainer. DreamOmni2 subclasses it and overrides only the position
// ids of the control images: control_image_ids is the one virtual a variant writes.
#include <optional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "flux_kontext/export.hpp"
#include "flux_kontext/model/position_ids.hpp"
#include "flux_kontext/trainer/trainer_config.hpp"
#include "omni/config.hpp"
#include "omni/prompt_enhancer.hpp"
#include "omni/trainer.hpp"

namespace flux_kontext {

class FluxTransformer2DModelImpl;
struct CachedSample;
struct CachePlan;
struct PredictSample;

class FLUX_KONTEXT_API FluxKontextTrainer : public omni::Trainer {
 public:
  explicit FluxKontextTrainer(TrainerConfig config);
  ~FluxKontextTrainer() override;

  void cache(const omni::StageContext& context) override;
  void fit(const omni::StageContext& context) override;
  void predict(const omni::StageContext& context) override;

  // The name the trainer was registered under (make_trainer_factory), for messages.
  const std::string& name() const { return name_; }
  void set_registered_name(std::string name) { name_ = std::move(name); }

  // Ids of the control images' tokens, concatenated in order: [sum of tokens, 3].
  // Kontext gives every control token [1, row, col].
  virtual at::Tensor control_image_ids(const std::vector<PackedGrid>& controls) const;

  // A fingerprint of control_image_ids: "ids-" and the CRC-32C of its ids on fixed probe grids
  // (one, two and three controls of unequal sizes). Cache keys include it: cached files hold
  // the grids the ids are rebuilt from, so a cache written under other ids is never used, and
  // a variant that changes the ids changes the key without having to say so.
  std::string position_id_scheme() const;

  // The whole image-token id table: the target's [0, row, col] first, then the controls.
  at::Tensor image_ids(const PackedGrid& target, const std::vector<PackedGrid>& controls) const;

  const TrainerConfig& config() const { return config_; }

  // The top-level `prompt_enhancer` section, for the enhancer named by the model section.
  void set_prompt_enhancer_options(omni::ConfigView options) { enhancer_options_ = options; }

  // The flow-matching loss of one micro-batch (samples of one bucket), drawing noise,
  // timesteps and caption dropout per sample from (seed, epoch, sample index).
  at::Tensor batch_loss(FluxTransformer2DModelImpl& model,
                        const std::vector<const CachedSample*>& samples,
                        const std::vector<std::int64_t>& indices, std::int64_t epoch,
                        const CachedSample& empty_prompt, std::optional<double> mu) const;

 protected:
  // Plans the data set's cache in `config.cache.cache_dir` and computes what is missing, on
  // `config.cache.devices` (the prompt enhancer, if any, too): the cache stage, and fit's
  // first step so that a fit never trains on stale entries. In a data-parallel job rank 0
  // prepares while the other ranks wait.
  CachePlan prepare_cache(const omni::StageContext& context, const TrainerConfig& config) const;
  // The configured enhancer, or null when the config asks for none. `stage_device` is the
  // running stage's device-map entry for it, which overrides the enhancer's `device` option.
  std::unique_ptr<omni::PromptEnhancer> make_prompt_enhancer(
      const omni::StageContext& context, const std::optional<std::string>& stage_device) const;
  friend class KontextPredictor;
  friend class KontextValidation;

  TrainerConfig config_;
  std::optional<omni::ConfigView> enhancer_options_;

 private:
  // prepare_cache's work in this process.
  CachePlan prepare_cache_here(const omni::StageContext& context, const TrainerConfig& config) const;

 protected:
  std::string name_ = "FluxKontext";
  // The registry of the running stage: components named in the config (text encoders, the
  // prompt enhancer) are built through it. Null outside a stage.
  const omni::ComponentProvider* components_ = nullptr;
};

}  // namespace flux_kontext
