#pragma once
// What both text tokenizers hand to their encoders.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>


namespace flux_kontext {

// Whether encode() adds the model's start/end tokens, and whether decode() writes them out.
enum class SpecialTokens { include, exclude };

// Where truncation warnings go; the default writes one line to standard error.
using WarningSink = std::function<void(const std::string& message)>;
void warn_on_stderr(const std::string& message);

struct TokenBatch {
  at::Tensor input_ids;       // [B, L] int64, padded on the right with the pad id
  at::Tensor attention_mask;  // [B, L] int64, 1 on real tokens (special ones included)
  std::vector<std::int64_t> cut_tokens;  // per prompt: how many tokens truncation dropped
  std::vector<std::string> warnings;     // one per truncated prompt, quoting what was cut

  bool truncated() const { return !warnings.empty(); }
};

}  // namespace flux_kontext
