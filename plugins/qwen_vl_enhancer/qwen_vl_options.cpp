#include "qwen_vl_options.hpp"

namespace qwen_vl_enhancer {

QwenVlOptions parse_qwen_vl_options(const omni::ConfigView& view) {
  QwenVlOptions options;
  options.model = view.get<std::string>("model", options.model);
  options.subfolder = view.get<std::string>("subfolder", options.subfolder);
  options.dtype = view.get_enum("dtype", {"bf16", "fp16", "fp32"}, options.dtype);
  options.device = view.get_device("device", options.device);
  options.max_new_tokens = view.get<int>("max_new_tokens", options.max_new_tokens);
  if (options.max_new_tokens <= 0) view.fail("max_new_tokens", "expected a count > 0");
  options.do_sample = view.get<bool>("do_sample", options.do_sample);
  options.temperature = view.get<double>("temperature", options.temperature);
  if (options.temperature <= 0) view.fail("temperature", "expected a value > 0");
  options.top_p = view.get<double>("top_p", options.top_p);
  if (options.top_p <= 0 || options.top_p > 1) view.fail("top_p", "expected a value in (0, 1]");
  options.task_suffix = view.get<std::string>("task_suffix", options.task_suffix);
  options.min_pixels = view.get<long>("min_pixels", options.min_pixels);
  options.max_pixels = view.get<long>("max_pixels", options.max_pixels);
  if (options.min_pixels <= 0 || options.max_pixels < options.min_pixels) {
    view.fail("max_pixels", "expected 0 < min_pixels <= max_pixels");
  }
  return options;
}

}  // namespace qwen_vl_enhancer
