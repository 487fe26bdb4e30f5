#pragma once
// CLIP's and T5's tokenizers as registry components (`clip`, `t5`), for
// `omnihost debug tokenize` and anything else that picks a tokenizer by name.
#include "omni/tokenizer.hpp"

namespace flux_kontext {

// Each opens a tokenizer folder, or a diffusers pipeline folder through its `tokenizer/`
// (CLIP) or `tokenizer_2/` (T5) subfolder.
omni::TokenizerFactory clip_tokenizer_factory();
omni::TokenizerFactory t5_tokenizer_factory();

}  // namespace flux_kontext
