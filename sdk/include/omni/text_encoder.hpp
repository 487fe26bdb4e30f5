#pragma once
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "omni/export.hpp"

namespace omni {

struct TextEmbeddings {
  at::Tensor sequence;        // [batch, tokens, width]
  at::Tensor pooled;          // [batch, pooled width], undefined when the encoder has none
  at::Tensor attention_mask;  // [batch, tokens], undefined when every token counts
};

class OMNI_API TextEncoder {
 public:
  virtual ~TextEncoder();
  virtual TextEmbeddings encode(const std::vector<std::string>& prompts) = 0;
  // Names the model files and settings, so caches built from this encoder can be keyed.
  virtual std::string identity() const = 0;
};

}  // namespace omni
