#pragma once
// The `qwen2_5_vl` prompt enhancer: shows the reference images and the instruction to
// Qwen2.5-VL and returns its answer (special tokens removed, surrounding white space trimmed)
// as the rewritten prompt. The model lives as long as the enhancer.
#include <memory>
#include <string>

#include <c10/core/ScalarType.h>

#include "omni/prompt_enhancer.hpp"
#include "qwen_vl_options.hpp"

namespace qwen_vl {

class QwenVlEnhancer : public omni::PromptEnhancer {
 public:
  // Resolves options.model / options.subfolder (local folder or Hugging Face cache), loads the
  // weights, tokenizer.json and preprocessor_config.json. Throws omni::Error naming a missing
  // file.
  explicit QwenVlEnhancer(const qwen_vl_enhancer::QwenVlOptions& options);
  ~QwenVlEnhancer() override;

  std::string enhance(const omni::EnhanceRequest& request) override;
  std::string identity() const override;
  // The dtype the model's weights were loaded in (options.dtype, as it took effect).
  c10::ScalarType weights_dtype() const;

  struct Loaded;

 private:
  qwen_vl_enhancer::QwenVlOptions options_;
  std::unique_ptr<Loaded> loaded_;
  std::string identity_;
};

}  // namespace qwen_vl
