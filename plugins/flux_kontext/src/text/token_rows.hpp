#pragma once
// Truncation and padding shared by the CLIP and T5 tokenizers: both keep the end token when
// they cut, like the upstream tokenizers with truncation=True.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "flux_kontext/text/token_batch.hpp"

namespace flux_kontext {

struct RowLayout {
  std::optional<std::int64_t> bos_id;  // T5 has none
  std::int64_t eos_id = 0;
  std::int64_t pad_id = 0;
  std::int64_t max_length = 0;  // total, special tokens included
};

// `describe_cut(row, cut_ids)` words the warning for a row that lost `cut_ids`.
TokenBatch assemble_rows(
    const std::vector<std::vector<std::int64_t>>& contents, const RowLayout& layout,
    const std::function<std::string(std::size_t, const std::vector<std::int64_t>&)>& describe_cut,
    const WarningSink& warn);

}  // namespace flux_kontext
