#include "flux_kontext/model/position_ids.hpp"

#include <ATen/ATen.h>

namespace flux_kontext {

at::Tensor grid_position_ids(const PackedGrid& grid, double axis0, std::int64_t row_offset,
                             std::int64_t col_offset) {
  at::Tensor rows = at::arange(grid.rows, at::kFloat) + static_cast<double>(row_offset);
  at::Tensor cols = at::arange(grid.cols, at::kFloat) + static_cast<double>(col_offset);
  at::Tensor ids = at::zeros({grid.rows, grid.cols, 3}, at::kFloat);
  ids.select(2, 0).fill_(axis0);
  ids.select(2, 1).copy_(rows.unsqueeze(1).expand({grid.rows, grid.cols}));
  ids.select(2, 2).copy_(cols.unsqueeze(0).expand({grid.rows, grid.cols}));
  return ids.reshape({grid.rows * grid.cols, 3});
}

}  // namespace flux_kontext
