// Loads a generated transformer-like checkpoint (>= 2 GB of fp32) into a module, with and
// without conversion to bf16, and prints the load throughput beside the page-cache read
// speed of the same file (`cat file > /dev/null`) and beside the speed of writing that much
// freshly allocated memory (a first load can go no faster), plus the peak resident memory
// while loading as a multiple of the module's final in-memory size (target: under 1.2x).
//
//   bench_weight_loading [--gb 2.2] [--dir /tmp]
//
// Each load runs in a fresh child process (this executable with --load), so its peak
// resident memory (VmHWM) measures that load alone. The checkpoint is deleted at the end.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>

#include "omni/error.hpp"
#include "omni/malloc_tuning.hpp"
#include "omni/safetensors.hpp"
#include "omni/weight_loading.hpp"

namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kHidden = 3072;  // FLUX.1's width

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// A field of /proc/self/status in bytes ("VmHWM", "VmRSS").
std::int64_t status_bytes(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stoll(line.substr(field.size() + 1)) * 1024;
  }
  return -1;
}

// Parameters are allocated but never written before loading, so their pages become
// resident only as loading fills them, as with a model built on the meta device.
struct Linear : torch::nn::Module {
  Linear(std::int64_t in, std::int64_t out, at::ScalarType type) {
    register_parameter("weight", torch::empty({out, in}, type));
    register_parameter("bias", torch::empty({out}, type));
  }
};

struct Block : torch::nn::Module {
  explicit Block(at::ScalarType type) {
    for (const char* name : {"to_q", "to_k", "to_v", "to_out"}) {
      register_module(name, std::make_shared<Linear>(kHidden, kHidden, type));
    }
    register_module("mlp_up", std::make_shared<Linear>(kHidden, 4 * kHidden, type));
    register_module("mlp_down", std::make_shared<Linear>(4 * kHidden, kHidden, type));
    register_parameter("norm_scale", torch::empty({kHidden}, type));
  }
};

struct Model : torch::nn::Module {
  Model(int blocks, at::ScalarType type) {
    torch::nn::ModuleList list;
    for (int i = 0; i < blocks; ++i) list->push_back(std::make_shared<Block>(type));
    register_module("blocks", list);
  }
};

std::int64_t module_bytes(torch::nn::Module& module) {
  std::int64_t total = 0;
  for (const auto& p : module.parameters()) total += p.numel() * p.element_size();
  return total;
}

std::int64_t block_bytes_fp32() {
  return 4 * (4 * (kHidden * kHidden + kHidden) + 2 * (4 * kHidden * kHidden) + 5 * kHidden +
              kHidden);
}

// Writes `bytes` of freshly allocated memory: what any first load must at least pay to make
// the module's memory resident (on virtual machines, first-touch page faults can cost far
// more than reading the page cache).
double fresh_memory_write_seconds(std::int64_t bytes) {
  const auto start = Clock::now();
  at::Tensor buffer = at::empty({bytes}, at::kByte);
  std::memset(buffer.data_ptr(), 1, static_cast<std::size_t>(bytes));
  return seconds_since(start);
}

// Child: prints "RESULT load_s peak_above_start final_bytes peak reload_s fresh_write_s".
int run_load(const fs::path& file, int blocks, const std::string& dtype) {
  const at::ScalarType type = dtype == "bf16" ? at::kBFloat16 : at::kFloat;
  Model model(blocks, type);
  {
    // Resets VmHWM to the current resident size, so the peak is that of loading alone.
    std::ofstream clear("/proc/self/clear_refs");
    clear << "5";
  }
  const std::int64_t start_rss = status_bytes("VmRSS");
  omni::WeightLoadOptions options;
  options.dtype = type;
  auto start = Clock::now();
  omni::load_weights(model, *omni::TensorSource::open(file), options);
  const double took = seconds_since(start);
  const std::int64_t peak = status_bytes("VmHWM");
  // Again into the now resident module: the loader's own speed, without first-touch faults.
  start = Clock::now();
  omni::load_weights(model, *omni::TensorSource::open(file), options);
  const double reload = seconds_since(start);
  const std::int64_t final_bytes = module_bytes(model);
  const double fresh_write = fresh_memory_write_seconds(final_bytes);
  std::printf("RESULT %.6f %lld %lld %lld %.6f %.6f\n", took,
              static_cast<long long>(peak - start_rss), static_cast<long long>(final_bytes),
              static_cast<long long>(peak), reload, fresh_write);
  return 0;
}

std::string self_path() {
  char buffer[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buffer, sizeof(buffer) - 1);
  if (n <= 0) throw omni::Error("cannot find this executable's path");
  return std::string(buffer, static_cast<std::size_t>(n));
}

std::string quote(const std::string& text) { return "'" + text + "'"; }

struct LoadResult {
  double seconds = 0;
  double peak_above_start = 0;
  double final_bytes = 0;
  double peak = 0;
  double reload_seconds = 0;
  double fresh_write_seconds = 0;
};

LoadResult load_in_child(const fs::path& file, int blocks, const std::string& dtype) {
  const std::string command = fmt::format("{} --load {} {} {}", quote(self_path()),
                                          quote(file.string()), blocks, dtype);
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) throw omni::Error("cannot start " + command);
  LoadResult result;
  char line[512];
  bool found = false;
  while (std::fgets(line, sizeof(line), pipe) != nullptr) {
    if (std::sscanf(line, "RESULT %lf %lf %lf %lf %lf %lf", &result.seconds,
                    &result.peak_above_start, &result.final_bytes, &result.peak,
                    &result.reload_seconds, &result.fresh_write_seconds) == 6) {
      found = true;
    }
  }
  if (::pclose(pipe) != 0 || !found) throw omni::Error("the load child failed: " + command);
  return result;
}

double page_cache_read_seconds(const fs::path& file) {
  const std::string command = "cat " + quote(file.string()) + " > /dev/null";
  if (std::system(command.c_str()) != 0) throw omni::Error("cat failed");  // warms the cache
  const auto start = Clock::now();
  if (std::system(command.c_str()) != 0) throw omni::Error("cat failed");
  return seconds_since(start);
}

// The temporary folder and its checkpoint are removed however the benchmark ends.
struct ScratchFolder {
  fs::path path;
  explicit ScratchFolder(const fs::path& parent)
      : path(parent / fmt::format("omni-bench-{}", ::getpid())) {
    fs::create_directories(path);
  }
  ~ScratchFolder() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

int run_benchmark(double gigabytes, const fs::path& parent) {
  const int blocks = static_cast<int>(std::ceil(gigabytes * 1e9 / block_bytes_fp32()));
  ScratchFolder scratch(parent);
  const fs::path file = scratch.path / "checkpoint.safetensors";

  auto start = Clock::now();
  {
    Model model(blocks, at::kFloat);
    omni::NamedTensors tensors;
    torch::NoGradGuard no_grad;
    for (const auto& item : model.named_parameters()) {
      item.value().uniform_(-0.05, 0.05);
      tensors.emplace_back(item.key(), item.value());
    }
    omni::save_safetensors(file, tensors, {{"format", "pt"}});
  }
  const double file_bytes = static_cast<double>(fs::file_size(file));
  const auto source = omni::TensorSource::open(file);
  fmt::print("checkpoint: {:.2f} GB of fp32 in {} tensors ({} blocks, hidden {}), written in "
             "{:.1f} s to {}\n",
             file_bytes / 1e9, source->names().size(), blocks, kHidden, seconds_since(start),
             file.string());

  const double cat_seconds = page_cache_read_seconds(file);
  fmt::print("page-cache read (cat file > /dev/null): {:.2f} GB/s ({:.2f} s)\n",
             file_bytes / 1e9 / cat_seconds, cat_seconds);

  for (const char* dtype : {"f32", "bf16"}) {
    LoadResult best;
    for (int run = 0; run < 2; ++run) {
      const LoadResult r = load_in_child(file, blocks, dtype);
      if (run == 0 || r.seconds < best.seconds) best.seconds = r.seconds;
      if (run == 0 || r.reload_seconds < best.reload_seconds) best.reload_seconds = r.reload_seconds;
      if (run == 0 || r.fresh_write_seconds < best.fresh_write_seconds) {
        best.fresh_write_seconds = r.fresh_write_seconds;
      }
      best.peak_above_start = std::max(best.peak_above_start, r.peak_above_start);
      best.peak = std::max(best.peak, r.peak);
      best.final_bytes = r.final_bytes;
    }
    const double gb = file_bytes / 1e9;
    fmt::print("load fp32 -> {} (best of 2 runs, GB/s of file read):\n", dtype);
    fmt::print("  first load into fresh memory     {:6.2f} GB/s ({:.2f} s)\n",
               gb / best.seconds, best.seconds);
    fmt::print("  reload into the resident module  {:6.2f} GB/s ({:.2f} s)\n",
               gb / best.reload_seconds, best.reload_seconds);
    fmt::print("  bound: first write of {:.2f} GB of fresh memory {:.2f} s, so at most {:.2f} "
               "GB/s of file for a first load\n",
               best.final_bytes / 1e9, best.fresh_write_seconds, gb / best.fresh_write_seconds);
    fmt::print("  peak resident while loading +{:.2f} GB = {:.3f}x the final {:.2f} GB "
               "(whole process VmHWM {:.2f} GB)\n",
               best.peak_above_start / 1e9, best.peak_above_start / best.final_bytes,
               best.final_bytes / 1e9, best.peak / 1e9);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  omni::tune_malloc_for_tensors();  // as omnihost does
  try {
    const std::vector<std::string> args(argv + 1, argv + argc);
    if (args.size() == 4 && args[0] == "--load") {
      return run_load(args[1], std::stoi(args[2]), args[3]);
    }
    double gigabytes = 2.2;
    fs::path parent = fs::temp_directory_path();
    for (std::size_t i = 0; i + 1 < args.size(); i += 2) {
      if (args[i] == "--gb") {
        gigabytes = std::stod(args[i + 1]);
      } else if (args[i] == "--dir") {
        parent = args[i + 1];
      } else {
        throw omni::Error("unknown argument '" + args[i] + "' (expected --gb N, --dir PATH)");
      }
    }
    return run_benchmark(gigabytes, parent);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "bench_weight_loading: %s\n", error.what());
    return 1;
  }
}
