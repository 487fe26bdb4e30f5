// Speed and memory of the Flux transformer: forward, and forward+backward LoRA-style (base
// frozen; LoRA r=16 on to_q/to_k/to_v/to_out.0), for a size preset and a dtype. Prints times,
// tokens/s, achieved FLOP/s from the model's FLOP count, that figure as a fraction of the
// matmul peak measured in the same run and dtype, and peak memory.
//
//   bench_flux_transformer [tiny|small|full] [--dtype fp32|bf16|fp16] [--device cpu|cuda]
//                          [--threads N] [--iters N] [--checkpointing | --no-checkpointing]
//                          [--batch N] [--flush-denormal]
//
// The last line, "result: step_s=... tokens_per_s=... mfu=... peak_gib=...", is for scripts
// (gpu-check.sh): the LoRA training step, and MFU against the GPU's nominal dense peak for the
// dtype where the GPU is known, else against the matmul peak measured here.
#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>
#include <string>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <torch/autograd.h>

#include "flux_kontext/model/flux_transformer.hpp"
#include "flux_kontext/model/position_ids.hpp"
#include "omni/cuda_runtime.hpp"
#include "omni/device.hpp"
#include "omni/error.hpp"
#include "omni/malloc_tuning.hpp"

using namespace flux_kontext;

namespace {

struct Preset {
  FluxTransformerConfig config;
  std::int64_t image_tokens = 0;  // target + control tokens
  std::int64_t text_tokens = 0;
  bool checkpointing = false;
};

Preset preset_named(const std::string& name) {
  Preset preset;
  FluxTransformerConfig& c = preset.config;
  if (name == "tiny") {  // the fixture's shape
    c.num_layers = 2;
    c.num_single_layers = 3;
    c.attention_head_dim = 16;
    c.num_attention_heads = 2;
    c.joint_attention_dim = 24;
    c.pooled_projection_dim = 20;
    c.axes_dims_rope = {4, 6, 6};
    preset.image_tokens = 256;
    preset.text_tokens = 32;
  } else if (name == "small") {
    c.num_layers = 4;
    c.num_single_layers = 8;
    c.num_attention_heads = 8;  // x 128 = hidden 1024
    preset.image_tokens = 2048;
    preset.text_tokens = 128;
  } else if (name == "full") {  // FLUX.1-Kontext-dev at 1024 px: target + control + text
    c = FluxTransformerConfig::flux1_dev();
    preset.image_tokens = 4096 + 4096;
    preset.text_tokens = 512;
    preset.checkpointing = true;
  } else {
    throw omni::Error("preset must be tiny, small or full, not '" + name + "'");
  }
  return preset;
}

template <class F>
double seconds_per_call(const c10::Device& device, int iterations, F&& body) {
  body();  // warm-up: allocator, kernels, thread pool
  omni::cuda::synchronize(device);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < iterations; ++i) body();
  omni::cuda::synchronize(device);
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  return elapsed.count() / iterations;
}

// FLOP/s of a large square matmul in `dtype`: the peak this machine reaches in practice.
double matmul_peak(c10::ScalarType dtype, const c10::Device& device) {
  const std::int64_t n = device.is_cuda() ? 8192 : 2048;
  const auto options = at::TensorOptions().dtype(dtype).device(device);
  const at::Tensor a = at::randn({n, n}, options), b = at::randn({n, n}, options);
  at::Tensor c;
  const double t = seconds_per_call(device, device.is_cuda() ? 20 : 3, [&] { c = at::matmul(a, b); });
  return 2.0 * n * n * n / t;
}

// Peak memory in GiB: the CUDA caching allocator's since the last reset, or the process's
// resident high-water mark on the CPU.
double peak_memory_gib(const c10::Device& device) {
  if (device.is_cuda()) return omni::cuda::memory_stats(device).peak_allocated_bytes / double(1 << 30);
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / (1 << 20);
  }
  return 0;
}

std::string describe_peak_memory(const c10::Device& device) {
  return fmt::format("{:.2f} GiB ({})", peak_memory_gib(device),
                     device.is_cuda() ? "CUDA max allocated, training step"
                                      : "VmHWM, whole process");
}


std::string rate(double flops) { return fmt::format("{:.1f} GFLOP/s", flops / 1e9); }

}  // namespace

int main(int argc, char** argv) try {
  omni::tune_malloc_for_tensors();  // as omnihost does
  std::string preset_name = "small", dtype_name = "fp32", device_name = "cpu";
  int threads = 2, iterations = 3;
  std::int64_t batch = 1;
  bool force_checkpointing = false, no_checkpointing = false, flush_denormal = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw omni::Error(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--dtype") dtype_name = value();
    else if (arg == "--device") device_name = value();
    else if (arg == "--threads") threads = std::stoi(value());
    else if (arg == "--iters") iterations = std::stoi(value());
    else if (arg == "--batch") batch = std::stoll(value());
    else if (arg == "--checkpointing") force_checkpointing = true;
    else if (arg == "--no-checkpointing") no_checkpointing = true;
    else if (arg == "--flush-denormal") flush_denormal = true;
    else if (!arg.empty() && arg[0] != '-') preset_name = arg;
    else throw omni::Error("unknown option " + arg);
  }
  Preset preset = preset_named(preset_name);
  if (force_checkpointing && no_checkpointing) {
    throw omni::Error("--checkpointing and --no-checkpointing exclude each other");
  }
  preset.checkpointing = (preset.checkpointing || force_checkpointing) && !no_checkpointing;
  const c10::ScalarType dtype = omni::parse_dtype(dtype_name, "--dtype");
  const c10::Device device = omni::parse_device(device_name, "--device");
  if (preset_name == "full" && !device.is_cuda()) {
    throw omni::Error("the full preset (12 B parameters) runs on CUDA only");
  }
  if (!device.is_cuda()) at::set_num_threads(threads);
  // Tiny gradients underflow into denormals, which x86 handles ~100x slower.
  if (flush_denormal) at::globalContext().setFlushDenormal(true);
  const FluxTransformerConfig& config = preset.config;

  FluxTransformerLoadOptions build;
  build.dtype = dtype;
  build.device = device;
  FluxTransformer2DModel model = make_flux_transformer(config, build);
  model->set_gradient_checkpointing(preset.checkpointing);
  std::int64_t parameters = 0;
  for (const at::Tensor& p : model->parameters()) parameters += p.numel();

  fmt::print("preset {}: hidden {}, {} heads, {} double + {} single blocks, {:.2f} B parameters\n",
             preset_name, config.inner_dim(), config.num_attention_heads, config.num_layers,
             config.num_single_layers, parameters / 1e9);
  fmt::print("tokens: {} image + {} text, batch {}; {} on {}{}; gradient checkpointing {}\n",
             preset.image_tokens, preset.text_tokens, batch, dtype_name, device.str(),
             device.is_cuda() ? "" : fmt::format(" ({} threads)", at::get_num_threads()),
             preset.checkpointing ? "on" : "off");

  const auto float_options = at::TensorOptions().dtype(at::kFloat).device(device);
  FluxTransformerInputs in;
  in.hidden_states = at::randn({batch, preset.image_tokens, config.in_channels}, float_options);
  in.encoder_hidden_states =
      at::randn({batch, preset.text_tokens, config.joint_attention_dim}, float_options);
  in.pooled_projections = at::randn({batch, config.pooled_projection_dim}, float_options);
  in.timestep = at::full({batch}, 0.5, float_options);
  in.guidance = at::full({batch}, 0.0035, float_options);
  const std::int64_t side = static_cast<std::int64_t>(std::sqrt(double(preset.image_tokens)));
  const std::int64_t rows = side, cols = (preset.image_tokens + side - 1) / side;
  in.img_ids = grid_position_ids({rows, cols}, 0).narrow(0, 0, preset.image_tokens);
  in.txt_ids = at::zeros({preset.text_tokens, 3});

  const double peak = matmul_peak(dtype, device);
  fmt::print("matmul peak ({}): {}\n", dtype_name, rate(peak));

  const FluxFlops flops = model->flops(batch, preset.image_tokens, preset.text_tokens);
  const double tokens = static_cast<double>(batch * (preset.image_tokens + preset.text_tokens));
  {
    torch::NoGradGuard no_grad;
    model->eval();
    const double t = seconds_per_call(device, iterations, [&] { model->forward(in); });
    fmt::print("forward:          {:8.3f} s  {:9.0f} tokens/s  {}  {:5.1f} % of peak\n", t,
               tokens / t, rate(flops.forward / t), 100.0 * flops.forward / t / peak);
  }

  // LoRA-style training: base frozen, r=16 adapters on the attention projections.
  constexpr std::int64_t rank = 16;
  for (at::Tensor& p : model->parameters()) p.requires_grad_(false);
  double lora_flops = 0;
  for (const auto& item : model->named_modules()) {
    auto* linear = item.value()->as<omni::LoraLinearImpl>();
    const std::string& name = item.key();
    const auto ends_with = [&](const std::string& suffix) {
      return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    if (linear == nullptr || !(ends_with("attn.to_q") || ends_with("attn.to_k") ||
                               ends_with("attn.to_v") || ends_with("attn.to_out.0"))) {
      continue;
    }
    linear->attach_lora(rank, rank, omni::LoraInit::gaussian);
    const bool single = name.rfind("single_transformer_blocks", 0) == 0;
    const double rows = double(batch) * (preset.image_tokens + (single ? preset.text_tokens : 0));
    // forward A then B; backward: input grads of both, weight grads of both.
    lora_flops += 3 * 2.0 * rows * rank * double(linear->in_features() + linear->out_features());
  }
  model->train();
  omni::cuda::reset_peak_memory(device);
  const double train_flops = flops.forward + flops.backward_frozen + lora_flops;
  const double t = seconds_per_call(device, iterations, [&] {
    const at::Tensor output = model->forward(in);
    output.to(at::kFloat).pow(2).mean().backward();
  });
  fmt::print("forward+backward: {:8.3f} s  {:9.0f} tokens/s  {}  {:5.1f} % of peak\n", t,
             tokens / t, rate(train_flops / t), 100.0 * train_flops / t / peak);
  fmt::print("  (FLOPs per step: forward {:.3g}, forward+backward {:.3g}; recomputation under "
             "checkpointing not counted)\n",
             flops.forward, train_flops);
  fmt::print("peak memory: {}\n", describe_peak_memory(device));
  const double nominal = omni::cuda::nominal_dense_peak(device, dtype);
  const double mfu = train_flops / t / (nominal > 0 ? nominal : peak);
  fmt::print("MFU: {:.1f} % of {}\n", 100 * mfu,
             nominal > 0 ? fmt::format("the GPU's nominal dense {} peak, {:.0f} TFLOP/s", dtype_name,
                                       nominal / 1e12)
                         : "the matmul peak measured above");
  fmt::print("result: step_s={:.4f} tokens_per_s={:.0f} mfu={:.1f}% peak_gib={:.2f}\n", t,
             tokens / t, 100 * mfu, peak_memory_gib(device));
  return 0;
} catch (const omni::Error& error) {
  std::cerr << "bench_flux_transformer: " << error.what() << "\n";
  return 2;
} catch (const c10::Error& error) {
  std::cerr << "bench_flux_transformer: " << error.what_without_backtrace() << "\n";
  return 1;
}
