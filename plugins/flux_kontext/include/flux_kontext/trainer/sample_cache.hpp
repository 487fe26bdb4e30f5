#pragma once
// The cache stage's product: one safetensors file per sample holding what fit needs (packed
// VAE latents of the target and of every control, the prompt's T5 and pooled CLIP
// embeddings, the mask per token). The file name is a hash of the sample's cache key and the
// whole key is stored in the file, so a file is used only when every input that shaped it
// (images, prompt, model, preprocessing, enhancer) is the same.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "flux_kontext/model/position_ids.hpp"

namespace flux_kontext {

struct CachedSample {
  at::Tensor target_latents;  // [tokens, channels] packed, normalized; undefined without target
  PackedGrid target_grid;
  std::vector<at::Tensor> control_latents;  // each [tokens_i, channels]
  std::vector<PackedGrid> control_grids;
  at::Tensor prompt_embeds;         // [text tokens, joint_attention_dim]
  at::Tensor pooled_prompt_embeds;  // [pooled_projection_dim]
  at::Tensor mask;                  // [target tokens] in [0, 1]; undefined without a mask
  std::string prompt;           // the dataset's prompt
  std::string enhanced_prompt;  // the prompt enhancer's rewrite, which was encoded; or empty
};

// A stable fingerprint of a file's bytes (size and 64-bit FNV-1a), for cache keys.
std::string file_fingerprint(const std::filesystem::path& file);

// 16 hex digits of a 64-bit FNV-1a hash of `text`.
std::string hash_hex(const std::string& text);

// `<cache_dir>/<hash of key>.safetensors`.
std::filesystem::path cache_file_for(const std::filesystem::path& cache_dir,
                                     const std::string& key);

// Writes atomically (temporary file, fsync, rename).
void save_cached_sample(const std::filesystem::path& file, const std::string& key,
                        const CachedSample& sample);

// The sample, when `file` exists and was written for exactly `key`; nothing otherwise (a
// stale or foreign file is never used). A file that cannot be read is an omni::Error.
std::optional<CachedSample> load_cached_sample(const std::filesystem::path& file,
                                               const std::string& key);

}  // namespace flux_kontext
