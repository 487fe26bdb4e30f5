#pragma once
// Rotary position ids of Flux's image tokens: one [axis0, row, col] triple per packed token
// (a packed token covers 2x2 latent pixels, i.e. 16x16 image pixels).
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

#include "flux_kontext/export.hpp"

namespace flux_kontext {

struct PackedGrid {
  std::int64_t rows = 0;  // latent height / 2
  std::int64_t cols = 0;  // latent width / 2
};

// [rows * cols, 3] float ids: (axis0, row + row_offset, col + col_offset), row-major.
FLUX_KONTEXT_API at::Tensor grid_position_ids(const PackedGrid& grid, double axis0,
                                              std::int64_t row_offset = 0,
                                              std::int64_t col_offset = 0);

}  // namespace flux_kontext
