#include "qwen_vl/qwen_vl_enhancer.hpp"

#include <algorithm>
#include <fstream>
#include <optional>
#include <sstream>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "omni/crc32c.hpp"
#include "omni/device.hpp"
#include "omni/error.hpp"
#include "omni/model_folder.hpp"
#include "qwen_vl/qwen_chat_template.hpp"
#include "qwen_vl/qwen_generation.hpp"
#include "qwen_vl/qwen_image_processor.hpp"
#include "qwen_vl/qwen_tokenizer.hpp"
#include "qwen_vl/qwen_vl_model.hpp"

namespace qwen_vl {

struct QwenVlEnhancer::Loaded {
  std::filesystem::path folder;
  QwenVlModel model{nullptr};
  std::optional<QwenTokenizer> tokenizer;
  QwenImageProcessorConfig processor;
  std::vector<std::int64_t> stop_ids;
};

namespace {

c10::ScalarType dtype_of(const std::string& name) {
  if (name == "bf16") return at::kBFloat16;
  if (name == "fp16") return at::kHalf;
  return at::kFloat;
}

std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// The model files without hashing gigabytes: the folder (a Hub snapshot names its commit),
// the CRC-32C of the small JSON files that define the model, tokenizer and processor, and the
// size of every weight file.
std::string files_identity(const std::filesystem::path& folder) {
  std::error_code ignored;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(folder, ignored)) {
    if (entry.is_regular_file(ignored)) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  std::string parts;
  for (const auto& file : files) {
    const std::string name = file.filename().string();
    if (file.extension() == ".json") {
      parts += fmt::format("{}:crc={:08x};", name, omni::crc32c(read_file(file)));
    } else if (file.extension() == ".safetensors") {
      parts += fmt::format("{}:{}bytes;", name, std::filesystem::file_size(file, ignored));
    }
  }
  return fmt::format("{}[{}]", std::filesystem::weakly_canonical(folder, ignored).string(), parts);
}

void require_file(const std::filesystem::path& file, const char* what) {
  if (!std::filesystem::exists(file)) {
    throw omni::Error(fmt::format("prompt enhancer qwen2_5_vl: {} is missing ({})", file.string(),
                                  what));
  }
}

}  // namespace

QwenVlEnhancer::QwenVlEnhancer(const qwen_vl_enhancer::QwenVlOptions& options)
    : options_(options), loaded_(std::make_unique<Loaded>()) {
  const omni::ModelFolder folder = omni::ModelFolder::open(options.model, "main", options.subfolder);
  loaded_->folder = folder.root();
  require_file(loaded_->folder / "config.json", "the model config");
  require_file(loaded_->folder / "tokenizer.json", "the tokenizer");
  loaded_->tokenizer = QwenTokenizer::from_file(loaded_->folder / "tokenizer.json");
  loaded_->processor = QwenImageProcessorConfig::from_folder(loaded_->folder);
  loaded_->processor.min_pixels = options.min_pixels;
  loaded_->processor.max_pixels = options.max_pixels;
  loaded_->model = load_qwen_vl_model(loaded_->folder, dtype_of(options.dtype),
                                      omni::parse_device(options.device));
  const QwenVlConfig& config = loaded_->model->config();
  loaded_->stop_ids = config.eos_token_ids;
  for (const char* token : {"<|im_end|>", "<|endoftext|>"}) {
    if (auto id = loaded_->tokenizer->token_to_id(token)) loaded_->stop_ids.push_back(*id);
  }
  // The template's special tokens must be the ones the model config names.
  if (loaded_->tokenizer->require_id("<|image_pad|>") != config.image_token_id ||
      loaded_->tokenizer->require_id("<|vision_start|>") != config.vision_start_token_id) {
    throw omni::Error(fmt::format("prompt enhancer qwen2_5_vl: {}: tokenizer.json and "
                                  "config.json disagree on the ids of <|image_pad|> / "
                                  "<|vision_start|>", loaded_->folder.string()));
  }
  identity_ = fmt::format(
      "qwen2_5_vl:{}:dtype={}:device={}:max_new_tokens={}:do_sample={}:temperature={}:"
      "top_p={}:task_suffix=\"{}\":min_pixels={}:max_pixels={}",
      files_identity(loaded_->folder), options.dtype, options.device, options.max_new_tokens,
      options.do_sample, options.temperature, options.top_p, options.task_suffix,
      options.min_pixels, options.max_pixels);
}

QwenVlEnhancer::~QwenVlEnhancer() = default;

std::string QwenVlEnhancer::identity() const { return identity_; }

c10::ScalarType QwenVlEnhancer::weights_dtype() const {
  return loaded_->model->parameters().front().scalar_type();
}

std::string QwenVlEnhancer::enhance(const omni::EnhanceRequest& request) {
  const QwenVlConfig& config = loaded_->model->config();
  ProcessedImages images;
  if (!request.images.empty()) images = preprocess_images(request.images, loaded_->processor);
  const std::string prompt =
      user_turn_prompt(request.images.size(), request.instruction + options_.task_suffix);
  const std::vector<std::int64_t> ids =
      expand_image_pads(loaded_->tokenizer->encode(prompt), config.image_token_id,
                        images.image_grid_thw, config.vision.spatial_merge_size);
  const auto length = static_cast<std::int64_t>(ids.size());
  if (length + options_.max_new_tokens > config.text.max_position_embeddings) {
    throw omni::Error(fmt::format(
        "prompt enhancer qwen2_5_vl: the prompt takes {} tokens (images included) and "
        "max_new_tokens is {}, more than the model's context of {} tokens; shorten the "
        "instruction, lower max_pixels or max_new_tokens",
        length, options_.max_new_tokens, config.text.max_position_embeddings));
  }
  GenerationInput input;
  input.input_ids = at::tensor(ids, at::kLong).view({1, length});
  input.pixel_values = images.pixel_values;
  input.image_grid_thw = images.image_grid_thw;
  GenerationOptions generation;
  generation.max_new_tokens = options_.max_new_tokens;
  generation.stop_ids = loaded_->stop_ids;
  generation.do_sample = options_.do_sample;
  generation.temperature = options_.temperature;
  generation.top_p = options_.top_p;
  // A fixed seed: the same request gives the same rewrite, so cache keys stay meaningful.
  generation.seed = 0;
  const std::vector<std::int64_t> answer = generate(*loaded_->model, input, generation);
  std::string text = loaded_->tokenizer->decode(answer, /*skip_special_tokens=*/true);
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

}  // namespace qwen_vl
