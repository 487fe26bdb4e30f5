#pragma once
// The activation functions named in Hugging Face configs (`hidden_act`, `dense_act_fn`).
#include <string>

#include <ATen/ATen.h>

#include "omni/error.hpp"

namespace flux_kontext {

enum class Activation { quick_gelu, gelu, gelu_new, relu, silu };

inline Activation parse_activation(const std::string& name, const std::string& where) {
  if (name == "quick_gelu") return Activation::quick_gelu;
  if (name == "gelu") return Activation::gelu;
  if (name == "gelu_new" || name == "gelu_pytorch_tanh") return Activation::gelu_new;
  if (name == "relu") return Activation::relu;
  if (name == "silu" || name == "swish") return Activation::silu;
  throw omni::Error(where + ": unsupported activation '" + name +
                    "'; expected quick_gelu, gelu, gelu_new, relu or silu");
}

inline at::Tensor apply_activation(Activation activation, const at::Tensor& x) {
  switch (activation) {
    case Activation::quick_gelu: return x * at::sigmoid(1.702 * x);
    case Activation::gelu: return at::gelu(x);
    case Activation::gelu_new: {
      // The tanh approximation, written out as upstream's NewGELUActivation.
      constexpr double k = 0.7978845608028654;  // sqrt(2 / pi)
      return 0.5 * x * (1.0 + at::tanh(k * (x + 0.044715 * at::pow(x, 3.0))));
    }
    case Activation::relu: return at::relu(x);
    case Activation::silu: return at::silu(x);
  }
  return x;
}

}  // namespace flux_kontext
