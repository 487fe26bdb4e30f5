#include "flux_kontext/model/flux_rope.hpp"

#include <ATen/ATen.h>

namespace flux_kontext {

RotaryEmbedding rotary_embedding(const at::Tensor& ids, const std::vector<std::int64_t>& axes_dims,
                                 double theta) {
  const at::Tensor positions = ids.to(at::kFloat).to(at::kDouble);
  std::vector<at::Tensor> angles;
  for (std::size_t axis = 0; axis < axes_dims.size(); ++axis) {
    const std::int64_t dim = axes_dims[axis];
    const at::Tensor exponents =
        at::arange(0, dim, 2, positions.options()) / static_cast<double>(dim);
    const at::Tensor frequencies = 1.0 / at::pow(theta, exponents);
    angles.push_back(at::outer(positions.select(1, static_cast<std::int64_t>(axis)), frequencies));
  }
  const at::Tensor all = at::cat(angles, 1);
  return {at::cos(all).to(at::kFloat), at::sin(all).to(at::kFloat)};
}

at::Tensor apply_rotary_embedding(const at::Tensor& x, const RotaryEmbedding& rope) {
  std::vector<std::int64_t> pairs = x.sizes().vec();
  pairs.back() /= 2;
  pairs.push_back(2);
  const at::Tensor x32 = x.to(at::kFloat).reshape(pairs);
  const at::Tensor real = x32.select(-1, 0);
  const at::Tensor imag = x32.select(-1, 1);
  // [tokens, head_dim / 2] -> [tokens, 1, head_dim / 2]: broadcast over batch and heads.
  const at::Tensor cos = rope.cos.unsqueeze(1);
  const at::Tensor sin = rope.sin.unsqueeze(1);
  const at::Tensor rotated = at::stack({real * cos - imag * sin, imag * cos + real * sin}, -1);
  return rotated.flatten(-2).to(x.scalar_type());
}

}  // namespace flux_kontext
