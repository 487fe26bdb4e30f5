#include "text/token_rows.hpp"

#include <iostream>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "omni/error.hpp"

namespace flux_kontext {

void warn_on_stderr(const std::string& message) { std::cerr << "warning: " << message << "\n"; }

TokenBatch assemble_rows(
    const std::vector<std::vector<std::int64_t>>& contents, const RowLayout& layout,
    const std::function<std::string(std::size_t, const std::vector<std::int64_t>&)>& describe_cut,
    const WarningSink& warn) {
  const std::int64_t specials = layout.bos_id ? 2 : 1;
  if (layout.max_length < specials) {
    throw omni::Error(fmt::format("tokenizer: max_length {} leaves no room for the {} special "
                                  "token(s) every sequence carries",
                                  layout.max_length, specials));
  }
  const auto rows = static_cast<std::int64_t>(contents.size());
  const std::size_t room = static_cast<std::size_t>(layout.max_length - specials);
  TokenBatch batch;
  batch.input_ids = at::full({rows, layout.max_length}, layout.pad_id, at::kLong);
  batch.attention_mask = at::zeros({rows, layout.max_length}, at::kLong);
  batch.cut_tokens.assign(contents.size(), 0);
  auto ids = batch.input_ids.accessor<std::int64_t, 2>();
  auto mask = batch.attention_mask.accessor<std::int64_t, 2>();
  for (std::size_t row = 0; row < contents.size(); ++row) {
    const std::vector<std::int64_t>& content = contents[row];
    const std::size_t kept = std::min(content.size(), room);
    std::int64_t column = 0;
    auto put = [&](std::int64_t id) {
      ids[static_cast<std::int64_t>(row)][column] = id;
      mask[static_cast<std::int64_t>(row)][column] = 1;
      ++column;
    };
    if (layout.bos_id) put(*layout.bos_id);
    for (std::size_t i = 0; i < kept; ++i) put(content[i]);
    put(layout.eos_id);
    if (kept < content.size()) {
      std::vector<std::int64_t> cut(content.begin() + static_cast<std::ptrdiff_t>(kept),
                                    content.end());
      batch.cut_tokens[row] = static_cast<std::int64_t>(cut.size());
      batch.warnings.push_back(describe_cut(row, cut));
      if (warn) warn(batch.warnings.back());
    }
  }
  return batch;
}

}  // namespace flux_kontext
