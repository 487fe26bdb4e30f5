#include "qwen_vl/debug_vlm.hpp"

#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "omni/command_options.hpp"
#include "omni/device.hpp"
#include "omni/error.hpp"
#include "omni/model_folder.hpp"
#include "omni/safetensors.hpp"
#include "qwen_vl/qwen_generation.hpp"
#include "qwen_vl/qwen_image_processor.hpp"
#include "qwen_vl/qwen_mrope.hpp"
#include "qwen_vl/qwen_vl_model.hpp"

namespace qwen_vl {
namespace {

constexpr const char* kName = "debug vlm";
constexpr const char* kSummary =
    "run Qwen2.5-VL on a cases file's prompt (image embeddings, M-RoPE ids, logits, greedy ids)";

// An integer tensor's values, flat: "[1, 10, 14]".
std::string values(const at::Tensor& tensor) {
  const at::Tensor flat = tensor.to(at::kLong).contiguous().flatten();
  const std::int64_t* data = flat.data_ptr<std::int64_t>();
  return fmt::format("[{}]", fmt::join(data, data + flat.numel(), ", "));
}

// A prompt with its images, checked against the model config.
struct Prompt {
  GenerationInput input;
  RopeIndex rope;
};

// The tensors of one tag of a cases file. Every complaint names the file, the tensor and what
// was expected, and comes before any weight is loaded.
class CaseInputs {
 public:
  CaseInputs(const std::filesystem::path& file, std::string tag)
      : file_(omni::SafetensorsFile::open(file)), tag_(std::move(tag)) {}

  std::string key(const std::string& field) const { return tag_ + "." + field; }
  const omni::SafetensorsFile& file() const { return *file_; }

  [[noreturn]] void fail(const std::string& field, const std::string& problem) const {
    throw omni::Error(fmt::format("{}: '{}': tensor '{}' {}", kName, file_->path().string(),
                                  key(field), problem));
  }

  // TAG.field with an integer (else a floating) dtype and `rank` dimensions.
  at::Tensor read(const std::string& field, bool integral, std::int64_t rank,
                  const std::string& expected) const {
    if (!file_->contains(key(field))) fail(field, "is missing; expected " + expected);
    const at::Tensor tensor = file_->tensor(key(field));
    if (at::isIntegralType(tensor.scalar_type(), /*includeBool=*/false) != integral ||
        tensor.dim() != rank) {
      fail(field, fmt::format("is {} {}; expected {}", c10::toString(tensor.scalar_type()),
                              c10::str(tensor.sizes()), expected));
    }
    return tensor;
  }

  // `processor` set: pixel_values from the raw images TAG.image_0, TAG.image_1, ...
  Prompt prompt(const QwenVlConfig& config,
                const std::optional<QwenImageProcessorConfig>& processor) const {
    Prompt prompt;
    const at::Tensor ids = read("input_ids", true, 2, "int64 [1, tokens]").to(at::kLong);
    if (ids.size(0) != 1 || ids.size(1) == 0) {
      fail("input_ids", "is " + c10::str(ids.sizes()) + "; expected one prompt, [1, tokens]");
    }
    const std::int64_t low = ids.min().item<std::int64_t>(), high = ids.max().item<std::int64_t>();
    if (low < 0 || high >= config.text.vocab_size) {
      fail("input_ids", fmt::format("holds ids from {} to {}; the model's vocabulary has {}", low,
                                    high, config.text.vocab_size));
    }
    prompt.input.input_ids = ids;
    prompt.input.image_grid_thw = image_grid(config);
    prompt.input.pixel_values = processor ? preprocess(*processor, prompt.input.image_grid_thw)
                                          : stored_pixels(config, prompt.input.image_grid_thw);
    try {
      prompt.rope = rope_index(ids, prompt.input.image_grid_thw, config);
    } catch (const omni::Error& error) {
      fail("input_ids", std::string("does not fit ") + key("image_grid_thw") + ": " + error.what());
    }
    return prompt;
  }

 private:
  // int64 [images, 3]: still images (t = 1) whose patch grid the merger can halve.
  at::Tensor image_grid(const QwenVlConfig& config) const {
    const std::string expected = "int64 [images, 3], rows (t = 1, h, w) in patches";
    const at::Tensor grid = read("image_grid_thw", true, 2, expected).to(at::kLong).contiguous();
    if (grid.size(0) == 0 || grid.size(1) != 3) {
      fail("image_grid_thw", "is " + c10::str(grid.sizes()) + "; expected " + expected);
    }
    const std::int64_t m = config.vision.spatial_merge_size;
    for (std::int64_t i = 0; i < grid.size(0); ++i) {
      const std::int64_t t = grid[i][0].item<std::int64_t>(), h = grid[i][1].item<std::int64_t>(),
                         w = grid[i][2].item<std::int64_t>();
      if (t != 1 || h <= 0 || w <= 0 || h % m != 0 || w % m != 0) {
        fail("image_grid_thw", fmt::format("row {} is ({}, {}, {}); expected t = 1 and h, w "
                                           "positive multiples of spatial_merge_size {}",
                                           i, t, h, w, m));
      }
    }
    return grid;
  }

  at::Tensor stored_pixels(const QwenVlConfig& config, const at::Tensor& grid) const {
    const std::int64_t patches = grid.prod(1).sum().item<std::int64_t>();
    const std::string expected = fmt::format("float [{}, {}] (the patches of image_grid_thw {})",
                                             patches, config.vision.patch_values(),
                                             values(grid));
    const at::Tensor pixels = read("pixel_values", false, 2, expected);
    if (pixels.size(0) != patches || pixels.size(1) != config.vision.patch_values()) {
      fail("pixel_values", "is " + c10::str(pixels.sizes()) + "; expected " + expected);
    }
    return pixels.to(at::kFloat);
  }

  at::Tensor preprocess(const QwenImageProcessorConfig& processor, const at::Tensor& grid) const {
    std::vector<omni::Image> images;
    for (std::int64_t k = 0; file_->contains(key(fmt::format("image_{}", k))); ++k) {
      const std::string field = fmt::format("image_{}", k);
      const at::Tensor rgb = read(field, true, 3, "u8 [H, W, 3]").contiguous();
      if (rgb.scalar_type() != at::kByte || rgb.size(2) != 3) {
        fail(field, fmt::format("is {} {}; expected u8 [H, W, 3]",
                                c10::toString(rgb.scalar_type()), c10::str(rgb.sizes())));
      }
      omni::Image image;
      image.height = static_cast<int>(rgb.size(0));
      image.width = static_cast<int>(rgb.size(1));
      image.pixels.assign(rgb.data_ptr<std::uint8_t>(), rgb.data_ptr<std::uint8_t>() + rgb.numel());
      images.push_back(std::move(image));
    }
    if (images.empty()) {
      fail("image_0", "is missing; --from-pixels reads the raw images TAG.image_0, TAG.image_1, "
                      "... (u8 [H, W, 3])");
    }
    ProcessedImages processed;
    try {
      processed = preprocess_images(images, processor);
    } catch (const omni::Error& error) {
      fail("image_*", std::string("cannot be pre-processed: ") + error.what());
    }
    if (!processed.image_grid_thw.equal(grid)) {
      fail("image_grid_thw", fmt::format("is {} but the {} raw images give {}",
                                         values(grid), images.size(),
                                         values(processed.image_grid_thw)));
    }
    return processed.pixel_values;
  }

  std::shared_ptr<const omni::SafetensorsFile> file_;
  std::string tag_;
};

// How an output compares with the tensor of the same name in the cases file, if any.
std::string compare_with(const omni::SafetensorsFile& cases, const std::string& name,
                         const at::Tensor& ours) {
  if (!cases.contains(name)) return "";
  const at::Tensor reference = cases.tensor(name);
  if (reference.sizes() != ours.sizes()) return " (the cases file's differs in shape)";
  if (at::isIntegralType(ours.scalar_type(), false)) {
    return reference.to(at::kLong).equal(ours) ? " (equal to the cases file's)"
                                               : " (DIFFERS from the cases file's)";
  }
  return fmt::format(" (max |difference| from the cases file's: {:.3g})",
                     (ours - reference.to(at::kFloat)).abs().max().item<double>());
}

int run_debug_vlm(const std::vector<std::string>& arguments) {
  cxxopts::Options options(std::string("omnihost ") + kName, kSummary);
  options.add_options()
      ("model", "Qwen2.5-VL folder (config.json, safetensors) or Hub repo id in the local cache",
       cxxopts::value<std::string>())
      ("subfolder", "the VLM's folder inside --model (DreamOmni2's repo: vlm-model)",
       cxxopts::value<std::string>()->default_value(""))
      ("cases", "safetensors file with the inputs", cxxopts::value<std::string>())
      ("tag", "input set: reads TAG.input_ids, TAG.pixel_values and TAG.image_grid_thw",
       cxxopts::value<std::string>())
      ("out", "safetensors file to write the TAG.* outputs to", cxxopts::value<std::string>())
      ("from-pixels", "pre-process the raw u8 images TAG.image_0, TAG.image_1, ... instead of "
       "reading TAG.pixel_values")
      ("new-tokens", "greedy tokens to generate (KV cache, no stop token)",
       cxxopts::value<std::int64_t>()->default_value("8"))
      ("dtype", "weights dtype: fp32, bf16 or fp16", cxxopts::value<std::string>()->default_value("fp32"))
      ("device", "cpu, cuda or cuda:N", cxxopts::value<std::string>()->default_value("cpu"))
      ("threads", "CPU threads (0: LibTorch's default)", cxxopts::value<int>()->default_value("0"))
      ("h,help", "show this help");
  const auto parsed = omni::parse_command_options(options, arguments, {"model", "cases", "tag", "out"});
  if (!parsed) return 0;
  const auto& args = *parsed;
  const c10::Device device = omni::parse_device(args["device"].as<std::string>(), "--device");
  const c10::ScalarType dtype = omni::parse_dtype(args["dtype"].as<std::string>(), "--dtype");
  const std::int64_t new_tokens = args["new-tokens"].as<std::int64_t>();
  if (new_tokens <= 0) throw omni::Error(fmt::format("{}: --new-tokens must be > 0", kName));
  const int threads = args["threads"].as<int>();
  if (threads < 0) throw omni::Error(fmt::format("{}: --threads must be >= 0", kName));
  if (threads > 0) at::set_num_threads(threads);

  const std::filesystem::path folder =
      omni::ModelFolder::open(args["model"].as<std::string>(), "main",
                              args["subfolder"].as<std::string>()).root();
  const QwenVlConfig config = QwenVlConfig::from_file(folder / "config.json");
  const CaseInputs cases(args["cases"].as<std::string>(), args["tag"].as<std::string>());
  std::optional<QwenImageProcessorConfig> processor;
  if (args.count("from-pixels")) processor = QwenImageProcessorConfig::from_folder(folder);
  const Prompt prompt = cases.prompt(config, processor);

  QwenVlModel model = load_qwen_vl_model(folder, dtype, device);
  at::NoGradGuard no_grad;
  const at::Tensor image_embeds =
      model->image_embeds(prompt.input.pixel_values, prompt.input.image_grid_thw);
  const at::Tensor logits =
      model->logits(model->embed(prompt.input.input_ids, image_embeds), prompt.rope.position_ids);
  GenerationOptions greedy;
  greedy.max_new_tokens = new_tokens;
  greedy.use_cache = true;
  const std::vector<std::int64_t> continuation = generate(*model, prompt.input, greedy);

  const omni::NamedTensors outputs = {
      {cases.key("image_embeds"), image_embeds.to(at::kCPU, at::kFloat)},
      {cases.key("position_ids"), prompt.rope.position_ids},
      {cases.key("rope_deltas"), prompt.rope.rope_deltas},
      {cases.key("logits"), logits.to(at::kCPU, at::kFloat)},
      {cases.key("greedy_ids"),
       at::tensor(continuation, at::kLong).view({1, static_cast<std::int64_t>(continuation.size())})},
  };
  const std::string out = args["out"].as<std::string>();
  omni::save_safetensors(out, outputs,
                         {{"note", fmt::format("omnihost {} --tag {} --dtype {}{}", kName,
                                               args["tag"].as<std::string>(),
                                               args["dtype"].as<std::string>(),
                                               processor ? " --from-pixels" : "")}});
  std::cout << "wrote to " << out << ":\n";
  for (const auto& [name, tensor] : outputs) {
    std::cout << fmt::format("  {} {}{}\n", name, c10::str(tensor.sizes()),
                             compare_with(cases.file(), name, tensor));
  }
  return 0;
}

}  // namespace

omni::CommandFactory debug_vlm_command() { return {kName, kSummary, run_debug_vlm}; }

}  // namespace qwen_vl
