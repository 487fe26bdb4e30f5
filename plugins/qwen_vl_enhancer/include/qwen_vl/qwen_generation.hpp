#pragma once
// Autoregressive decoding for Qwen2.5-VL: greedy or temperature/top-p sampling, with a KV cache
// (the default) or by re-running the whole sequence each step (the reference the cache is
// tested against).
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

#include "qwen_vl/qwen_vl_model.hpp"

namespace qwen_vl {

struct GenerationOptions {
  std::int64_t max_new_tokens = 256;
  bool use_cache = true;
  // Generation ends after emitting one of these ids (the id is returned); empty: never.
  std::vector<std::int64_t> stop_ids;
  bool do_sample = false;
  double temperature = 1.0;
  double top_p = 1.0;
  std::uint64_t seed = 0;  // sampling only
};

struct GenerationInput {
  at::Tensor input_ids;       // int64 [1, tokens]
  at::Tensor pixel_values;    // [patches, C*T*P*P], undefined without images
  at::Tensor image_grid_thw;  // int64 [images, 3], undefined without images
};

// The new token ids (without the prompt).
std::vector<std::int64_t> generate(QwenVlModelImpl& model, const GenerationInput& input,
                                   const GenerationOptions& options);

// The next token from last-position logits [vocab]: argmax, or a sample from the
// temperature-scaled distribution restricted to the smallest top-p nucleus.
std::int64_t choose_token(const at::Tensor& logits, const GenerationOptions& options,
                          at::Generator* generator);

}  // namespace qwen_vl
