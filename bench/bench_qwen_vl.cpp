// Speed of the Qwen2.5-VL prompt enhancer's generation with random weights (no files):
// time to first token (image pre-processing, vision tower and prefill of a one-image prompt)
// and decoding tokens/s with the KV cache, through the same generate() the enhancer calls.
//
//   bench_qwen_vl [--preset tiny|7b] [--device cpu|cuda] [--dtype fp32|bf16|fp16]
//                 [--new-tokens N] [--image-size PX] [--threads N]
//
// tiny is the shape of the test fixture (../shared/fixtures/vlm); 7b that of
// Qwen2.5-VL-7B-Instruct (8.3 B parameters; bf16 on CUDA).
#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <string>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>

#include "omni/cuda_runtime.hpp"
#include "omni/device.hpp"
#include "omni/error.hpp"
#include "omni/malloc_tuning.hpp"
#include "qwen_vl/qwen_generation.hpp"
#include "qwen_vl/qwen_image_processor.hpp"
#include "qwen_vl/qwen_vl_model.hpp"

using namespace qwen_vl;

namespace {

QwenVlConfig preset_config(const std::string& name) {
  QwenVlConfig c;  // the vision defaults are Qwen2.5-VL-7B's
  // text: vocab, hidden, intermediate, layers, heads, KV heads, context, rms_norm_eps,
  // rope_theta, mrope_section, tie_word_embeddings
  if (name == "tiny") {
    c.text = {2048, 64, 128, 2, 4, 2, 4096, 1e-6, 1e6, {2, 3, 3}, false};
    c.vision.depth = 4;
    c.vision.hidden_size = 32;
    c.vision.intermediate_size = 64;
    c.vision.num_heads = 4;
    c.vision.out_hidden_size = 64;
    c.vision.fullatt_block_indexes = {1, 3};
    // The fixture moves the special tokens to the top of its 2048-token vocabulary.
    c.vision_start_token_id = 2029;
    c.vision_end_token_id = 2030;
    c.image_token_id = 2032;
    c.video_token_id = 2033;
    c.eos_token_ids = {2022};
  } else if (name == "7b") {
    c.text = {152064, 3584, 18944, 28, 28, 4, 128000, 1e-6, 1e6, {16, 24, 24}, false};
    c.vision_start_token_id = 151652;
    c.vision_end_token_id = 151653;
    c.image_token_id = 151655;
    c.video_token_id = 151656;
    c.eos_token_ids = {151645};
  } else {
    throw omni::Error("--preset must be tiny or 7b, not '" + name + "'");
  }
  return c;
}

// Matrices ~ N(0, 0.02) (the vision patch embedding starts at zero); norms stay 1.
void randomize(QwenVlModelImpl& model) {
  at::NoGradGuard no_grad;
  for (at::Tensor& parameter : model.parameters()) {
    if (parameter.dim() >= 2) parameter.normal_(0.0, 0.02);
  }
}

// <|vision_start|> one <|image_pad|> per merged token <|vision_end|> between runs of
// random ordinary tokens, as the chat template lays out a one-image request.
at::Tensor prompt_ids(const QwenVlConfig& config, std::int64_t image_tokens, std::mt19937& random) {
  const std::int64_t specials = std::min(config.vision_start_token_id, config.image_token_id);
  std::uniform_int_distribution<std::int64_t> word(0, specials - 1);
  std::vector<std::int64_t> ids;
  for (int k = 0; k < 24; ++k) ids.push_back(word(random));
  ids.push_back(config.vision_start_token_id);
  ids.insert(ids.end(), image_tokens, config.image_token_id);
  ids.push_back(config.vision_end_token_id);
  for (int k = 0; k < 24; ++k) ids.push_back(word(random));
  return at::tensor(ids, at::kLong).view({1, static_cast<std::int64_t>(ids.size())});
}

// `--name value` pairs; an unknown name or a missing value is an error.
std::map<std::string, std::string> parse_options(int argc, char** argv) {
  static const std::set<std::string> known = {"--preset", "--device", "--dtype",
                                              "--new-tokens", "--image-size", "--threads"};
  std::map<std::string, std::string> given;
  for (int i = 1; i < argc; i += 2) {
    const std::string name = argv[i];
    if (known.count(name) == 0) throw omni::Error("unknown option " + name);
    if (i + 1 >= argc) throw omni::Error(name + " needs a value");
    given[name] = argv[i + 1];
  }
  return given;
}

std::int64_t whole_number(const std::string& name, const std::string& text) {
  std::size_t used = 0;
  std::int64_t value = 0;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (text.empty() || used != text.size()) {
    throw omni::Error(name + " needs a whole number, not '" + text + "'");
  }
  return value;
}

// Best wall time of 5 runs after a warm-up: the least disturbed by other work on the machine.
// generate() reads every token back to the host, so the device has finished when it returns.
template <class F>
double best_seconds(F&& body) {
  body();
  double best = 0;
  for (int run = 0; run < 5; ++run) {
    const auto start = std::chrono::steady_clock::now();
    body();
    const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = run == 0 ? t : std::min(best, t);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) try {
  omni::tune_malloc_for_tensors();  // as omnihost does
  const std::map<std::string, std::string> given = parse_options(argc, argv);
  const auto option = [&](const std::string& name, const std::string& fallback) {
    const auto found = given.find(name);
    return found == given.end() ? fallback : found->second;
  };
  const std::string preset = option("--preset", "tiny"), device_name = option("--device", "cpu"),
                    dtype_name = option("--dtype", "fp32");
  const std::int64_t new_tokens = whole_number("--new-tokens", option("--new-tokens", "64"));
  const int image_size = static_cast<int>(whole_number("--image-size", option("--image-size", "448")));
  const int threads = static_cast<int>(whole_number("--threads", option("--threads", "0")));
  if (new_tokens < 2) throw omni::Error("--new-tokens must be at least 2");
  if (image_size < 28) throw omni::Error("--image-size must be at least 28 (pixels)");
  if (threads < 0) throw omni::Error("--threads must be >= 0");
  const c10::Device device = omni::parse_device(device_name, "--device");
  const c10::ScalarType dtype = omni::parse_dtype(dtype_name, "--dtype");
  if (threads > 0) at::set_num_threads(threads);
  const QwenVlConfig config = preset_config(preset);

  QwenVlModel model(config);
  model->to(device, dtype);
  randomize(*model);
  model->eval();
  std::int64_t parameters = 0;
  for (const at::Tensor& p : model->parameters()) parameters += p.numel();

  // A random square RGB image through the enhancer's pre-processing.
  std::mt19937 random(0);
  omni::Image image;
  image.width = image.height = image_size;
  image.pixels.resize(static_cast<std::size_t>(image_size) * image_size * 3);
  for (auto& value : image.pixels) value = static_cast<std::uint8_t>(random() & 0xff);
  QwenImageProcessorConfig processor;
  const std::int64_t merge = config.vision.spatial_merge_size;
  const ProcessedImages probe = preprocess_images({image}, processor);
  const std::int64_t image_tokens = probe.image_grid_thw.prod().item<std::int64_t>() / (merge * merge);
  GenerationInput input;
  input.input_ids = prompt_ids(config, image_tokens, random);

  const std::string count = parameters >= 1e9 ? fmt::format("{:.2f} B", parameters / 1e9)
                                              : fmt::format("{:.3f} M", parameters / 1e6);
  fmt::print("preset {}: {} parameters; {} on {}{}\n", preset, count, dtype_name,
             device.str(), device.is_cuda() ? "" : fmt::format(" ({} threads)", at::get_num_threads()));
  fmt::print("prompt: {} tokens ({} image tokens from a {}x{} px image, {} patches); {} new "
             "tokens, greedy, KV cache\n",
             input.input_ids.size(1), image_tokens, image_size, image_size,
             probe.pixel_values.size(0), new_tokens);

  GenerationOptions options;  // greedy, no stop ids: always new_tokens tokens
  const auto run = [&](std::int64_t tokens) {
    const ProcessedImages images = preprocess_images({image}, processor);
    input.pixel_values = images.pixel_values;
    input.image_grid_thw = images.image_grid_thw;
    options.max_new_tokens = tokens;
    return generate(*model, input, options);
  };
  const double first = best_seconds([&] { run(1); });
  const double all = best_seconds([&] { run(new_tokens); });
  fmt::print("time to first token (pre-processing, vision, prefill): {:.2f} ms\n", 1e3 * first);
  if (all > first) {
    const double decode = all - first;
    fmt::print("decoding: {:.1f} tokens/s ({:.2f} ms/token over {} tokens)\n",
               (new_tokens - 1) / decode, 1e3 * decode / (new_tokens - 1), new_tokens - 1);
  } else {
    fmt::print("decoding: lost in the timing noise; raise --new-tokens\n");
  }
  fmt::print("end to end: {:.1f} tokens/s ({} tokens in {:.2f} s)\n", new_tokens / all, new_tokens,
             all);
  // For scripts (gpu-check.sh): one decoded token is the step; its work is 2 FLOPs per
  // parameter of the language model (the vision tower runs once, in the prefill).
  const double per_token = all > first ? (all - first) / (new_tokens - 1) : all / new_tokens;
  const double nominal = omni::cuda::nominal_dense_peak(device, dtype);
  const double peak_gib = omni::cuda::memory_stats(device).peak_allocated_bytes / double(1 << 30);
  fmt::print("result: step_s={:.5f} tokens_per_s={:.1f} mfu={} peak_gib={:.2f}\n", per_token,
             1 / per_token,
             nominal > 0 ? fmt::format("{:.2f}%", 100 * 2.0 * parameters / per_token / nominal)
                         : std::string("n/a"),
             peak_gib);
  return 0;
} catch (const std::exception& error) {  // omni::Error for bad options; LibTorch's errors
  std::cerr << "bench_qwen_vl: " << error.what() << "\n";
  return 2;
}
