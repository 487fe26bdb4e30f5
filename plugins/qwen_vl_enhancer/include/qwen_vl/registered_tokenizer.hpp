#pragma once
// Qwen2's tokenizer as the registry component `qwen`, for `omnihost debug tokenize`.
#include "omni/tokenizer.hpp"

namespace qwen_vl {

// Opens a tokenizer.json, or a model folder holding one.
omni::TokenizerFactory qwen_tokenizer_factory();

}  // namespace qwen_vl
