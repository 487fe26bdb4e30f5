#include "omni/device.hpp"

#include <cctype>

#include <fmt/format.h>
#include <torch/cuda.h>

#include "omni/distributed.hpp"
#include "omni/error.hpp"

namespace omni {

std::string check_device_syntax(std::string_view text) {
  auto malformed = [&] {
    return fmt::format("invalid device '{}'; expected 'cpu', 'cuda' or 'cuda:N' (N a GPU index)",
                       text);
  };
  if (text == "cpu" || text == "cuda") return {};
  constexpr std::string_view prefix = "cuda:";
  if (text.substr(0, prefix.size()) != prefix) return malformed();
  std::string_view index = text.substr(prefix.size());
  if (index.empty() || index.size() > 4) return malformed();
  for (char c : index) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return malformed();
  }
  return {};
}

std::string check_device(std::string_view text) {
  if (std::string problem = check_device_syntax(text); !problem.empty()) return problem;
  if (text == "cpu") return {};
  if (!torch::cuda::is_available()) {
    return fmt::format("device '{}' needs CUDA, but {}", text,
                       OMNI_WITH_CUDA ? "no CUDA device is visible to this process"
                                      : "this build of LibTorch has no CUDA support");
  }
  if (text.size() > 5) {
    long index = std::stol(std::string(text.substr(5)));
    long count = static_cast<long>(torch::cuda::device_count());
    if (index >= count) {
      return fmt::format("device '{}' does not exist; {} CUDA device(s) visible (cuda:0 to cuda:{})",
                         text, count, count - 1);
    }
  }
  return {};
}

c10::Device parse_device(std::string_view text, std::string_view what) {
  // In a data-parallel job "cuda" is this rank's own GPU (distributed.hpp).
  const std::string resolved = resolve_default_cuda(text);
  if (std::string problem = check_device(resolved); !problem.empty()) {
    throw Error(fmt::format("{}: {}", what, problem));
  }
  return c10::Device(resolved);
}

c10::ScalarType parse_dtype(std::string_view text, std::string_view what) {
  if (text == "fp32" || text == "float32" || text == "float") return c10::kFloat;
  if (text == "bf16" || text == "bfloat16") return c10::kBFloat16;
  if (text == "fp16" || text == "float16" || text == "half") return c10::kHalf;
  throw Error(fmt::format("{}: unknown dtype '{}'; expected fp32, bf16 or fp16", what, text));
}

}  // namespace omni
