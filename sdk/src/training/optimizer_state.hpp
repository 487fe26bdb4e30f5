#pragma once
// Helpers shared by the optimizers written here (Prodigy, Adafactor): the key LibTorch files
// a parameter's state under, and IValue/scalar reads that name what is missing.
#include <sstream>
#include <string>
#include <type_traits>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <torch/optim/optimizer.h>
#include <torch/serialize/archive.h>

#include "omni/error.hpp"

namespace omni::optimizer_state {

// LibTorch keys optimizer state by the parameter's TensorImpl: 1.13 by its address printed
// as a string, 2.x by the address itself. The map's key type tells which.
using StateMap = std::decay_t<decltype(std::declval<torch::optim::Optimizer&>().state())>;

template <typename Key>
Key key_of(const at::Tensor& param) {
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream text;
    text << param.unsafeGetTensorImpl();
    return text.str();
  } else {
    return param.unsafeGetTensorImpl();
  }
}

inline StateMap::key_type key(const at::Tensor& param) { return key_of<StateMap::key_type>(param); }

inline c10::IValue read_value(torch::serialize::InputArchive& archive, const char* key) {
  c10::IValue value;
  if (!archive.try_read(key, value)) {
    throw omni::Error(fmt::format("optimizer state: the archive has no '{}'", key));
  }
  return value;
}

// Scalars of a whole optimizer travel as 0-d fp64 tensors: exact, and read back the same way
// by every LibTorch version.
inline void write_scalar(torch::serialize::OutputArchive& archive, const std::string& key,
                         double value) {
  archive.write(key, at::scalar_tensor(value, at::kDouble), /*is_buffer=*/true);
}

inline double read_scalar(torch::serialize::InputArchive& archive, const std::string& key,
                          const char* optimizer) {
  at::Tensor value;
  if (!archive.try_read(key, value, /*is_buffer=*/true)) {
    throw omni::Error(fmt::format("{} optimizer state: the archive has no '{}' (a checkpoint "
                                  "written by another optimizer?)",
                                  optimizer, key));
  }
  return value.to(at::kCPU, at::kDouble).item<double>();
}

}  // namespace omni::optimizer_state
