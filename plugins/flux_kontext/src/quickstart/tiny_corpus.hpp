#pragma once
// The short English text the tiny tokenizers learn from: prompts of the kind an image-editing
// model sees, one sentence a line.
#include <string_view>

namespace flux_kontext {

std::string_view tiny_tokenizer_corpus();

}  // namespace flux_kontext
