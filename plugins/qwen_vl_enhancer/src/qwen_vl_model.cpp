#include "qwen_vl/qwen_vl_model.hpp"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "omni/error.hpp"
#include "omni/weight_loading.hpp"

namespace qwen_vl {

QwenVlModelImpl::QwenVlModelImpl(const QwenVlConfig& config) : config_(config) {
  visual_ = register_module("visual", QwenVisionTower(config.vision));
  model_ = register_module("model", Qwen2Decoder(config.text));
  lm_head_ = register_module(
      "lm_head", torch::nn::Linear(torch::nn::LinearOptions(config.text.hidden_size,
                                                            config.text.vocab_size).bias(false)));
}

at::Tensor QwenVlModelImpl::image_embeds(const at::Tensor& pixel_values,
                                         const at::Tensor& image_grid_thw) {
  return visual_->forward(pixel_values, image_grid_thw);
}

at::Tensor QwenVlModelImpl::embed(const at::Tensor& input_ids, const at::Tensor& image_embeds) {
  at::Tensor embeds = model_->embed(input_ids);
  const at::Tensor is_image = input_ids.to(embeds.device()).eq(config_.image_token_id);
  const std::int64_t slots = is_image.sum().item<std::int64_t>();
  const std::int64_t rows = image_embeds.defined() ? image_embeds.size(0) : 0;
  if (slots != rows) {
    throw omni::Error(fmt::format("Qwen2.5-VL: the prompt has {} image tokens (id {}) but the "
                                  "images give {} embeddings",
                                  slots, config_.image_token_id, rows));
  }
  if (rows == 0) return embeds;
  return embeds.index_put({is_image}, image_embeds.to(embeds.options()));
}

at::Tensor QwenVlModelImpl::logits(const at::Tensor& inputs_embeds, const at::Tensor& position_ids,
                                   KvCache* cache, bool last_only) {
  at::Tensor hidden = model_->forward(inputs_embeds, position_ids, cache);
  if (last_only) hidden = hidden.narrow(1, hidden.size(1) - 1, 1);
  return lm_head_->forward(hidden).to(at::kFloat);
}

QwenVlModel load_qwen_vl_model(const std::filesystem::path& folder, c10::ScalarType dtype,
                               c10::Device device) {
  QwenVlModel model(QwenVlConfig::from_file(folder / "config.json"));
  omni::WeightLoadOptions options;
  options.dtype = dtype;
  options.device = device;
  if (model->config().text.tie_word_embeddings) {
    // Tied checkpoints omit lm_head.weight; it is the embedding matrix.
    options.allow_missing = {"lm_head\\.weight"};
  }
  // Checkpoints saved by newer transformers nest the towers as model.visual.* and
  // model.language_model.*; the released ones (and our module names) use visual.* / model.*.
  options.rename = [](const std::string& name) {
    static const std::string visual = "model.visual.", language = "model.language_model.";
    if (name.rfind(visual, 0) == 0) return "visual." + name.substr(visual.size());
    if (name.rfind(language, 0) == 0) return "model." + name.substr(language.size());
    return name;
  };
  model->to(device, dtype);
  const auto source = omni::TensorSource::open(folder);
  const omni::WeightLoadReport report = omni::load_weights(*model, *source, options);
  if (!report.missing_allowed.empty()) {
    at::NoGradGuard no_grad;
    auto params = model->named_parameters();
    params["lm_head.weight"].copy_(params["model.embed_tokens.weight"]);
  }
  model->eval();
  return model;
}

}  // namespace qwen_vl
