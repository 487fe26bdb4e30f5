#include "flux_kontext/trainer/sample_cache.hpp"

#include <fstream>
#include <map>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "omni/error.hpp"
#include "omni/safetensors.hpp"

namespace flux_kontext {
namespace {

constexpr const char* kKeyMetadata = "omnihost.cache_key";
constexpr const char* kGridsMetadata = "omnihost.grids";
constexpr const char* kPromptMetadata = "omnihost.prompt";
constexpr const char* kEnhancedPromptMetadata = "omnihost.enhanced_prompt";
constexpr std::uint64_t kFnvOffset = 1469598103934665603ULL;
constexpr std::uint64_t kFnvPrime = 1099511628211ULL;

std::uint64_t fnv1a(std::uint64_t hash, const char* data, std::size_t size) {
  for (std::size_t i = 0; i < size; ++i) {
    hash ^= static_cast<unsigned char>(data[i]);
    hash *= kFnvPrime;
  }
  return hash;
}

std::string grid_text(const PackedGrid& grid) { return fmt::format("{}x{}", grid.rows, grid.cols); }

PackedGrid parse_grid(const std::string& text, const std::filesystem::path& file) {
  PackedGrid grid;
  if (std::sscanf(text.c_str(), "%ldx%ld", &grid.rows, &grid.cols) != 2) {
    throw omni::Error(fmt::format("cache file '{}': malformed grid '{}' in its metadata",
                                  file.string(), text));
  }
  return grid;
}

}  // namespace

std::string file_fingerprint(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw omni::Error(fmt::format("cannot read '{}'", file.string()));
  std::uint64_t hash = kFnvOffset;
  std::uint64_t size = 0;
  char buffer[1 << 16];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    hash = fnv1a(hash, buffer, static_cast<std::size_t>(in.gcount()));
    size += static_cast<std::uint64_t>(in.gcount());
  }
  return fmt::format("{}:{:016x}", size, hash);
}

std::string hash_hex(const std::string& text) {
  return fmt::format("{:016x}", fnv1a(kFnvOffset, text.data(), text.size()));
}

std::filesystem::path cache_file_for(const std::filesystem::path& cache_dir, const std::string& key) {
  return cache_dir / (hash_hex(key) + ".safetensors");
}

void save_cached_sample(const std::filesystem::path& file, const std::string& key,
                        const CachedSample& sample) {
  omni::NamedTensors tensors;
  std::vector<std::string> grids;
  if (sample.target_latents.defined()) {
    tensors.emplace_back("target_latents", sample.target_latents);
    grids.push_back("target=" + grid_text(sample.target_grid));
  }
  for (std::size_t i = 0; i < sample.control_latents.size(); ++i) {
    tensors.emplace_back(fmt::format("control_latents.{}", i), sample.control_latents[i]);
    grids.push_back(grid_text(sample.control_grids[i]));
  }
  tensors.emplace_back("prompt_embeds", sample.prompt_embeds);
  tensors.emplace_back("pooled_prompt_embeds", sample.pooled_prompt_embeds);
  if (sample.mask.defined()) tensors.emplace_back("mask", sample.mask);
  std::filesystem::create_directories(file.parent_path());
  std::map<std::string, std::string> metadata{
      {kKeyMetadata, key}, {kGridsMetadata, fmt::format("{}", fmt::join(grids, ";"))},
      {kPromptMetadata, sample.prompt}};
  if (!sample.enhanced_prompt.empty()) metadata[kEnhancedPromptMetadata] = sample.enhanced_prompt;
  omni::save_safetensors(file, tensors, metadata);
}

std::optional<CachedSample> load_cached_sample(const std::filesystem::path& file,
                                               const std::string& key) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(file, error)) return std::nullopt;
  auto source = omni::SafetensorsFile::open(file);
  const auto& metadata = source->metadata();
  auto stored = metadata.find(kKeyMetadata);
  if (stored == metadata.end() || stored->second != key) return std::nullopt;
  auto grids_entry = metadata.find(kGridsMetadata);
  if (grids_entry == metadata.end()) {
    throw omni::Error(fmt::format("cache file '{}' has no '{}' metadata", file.string(), kGridsMetadata));
  }
  std::vector<std::string> grids;
  for (std::size_t start = 0; start <= grids_entry->second.size();) {
    std::size_t end = grids_entry->second.find(';', start);
    if (end == std::string::npos) end = grids_entry->second.size();
    if (end > start) grids.push_back(grids_entry->second.substr(start, end - start));
    start = end + 1;
  }
  CachedSample sample;
  std::size_t next_grid = 0;
  auto require = [&](const std::string& name) {
    if (!source->contains(name)) {
      throw omni::Error(fmt::format("cache file '{}' lacks tensor '{}'", file.string(), name));
    }
    return source->tensor(name).clone();
  };
  if (source->contains("target_latents")) {
    sample.target_latents = require("target_latents");
    if (grids.empty() || grids[0].rfind("target=", 0) != 0) {
      throw omni::Error(fmt::format("cache file '{}': target grid missing", file.string()));
    }
    sample.target_grid = parse_grid(grids[0].substr(7), file);
    next_grid = 1;
  }
  for (std::size_t i = 0; next_grid < grids.size(); ++i, ++next_grid) {
    sample.control_latents.push_back(require(fmt::format("control_latents.{}", i)));
    sample.control_grids.push_back(parse_grid(grids[next_grid], file));
  }
  sample.prompt_embeds = require("prompt_embeds");
  sample.pooled_prompt_embeds = require("pooled_prompt_embeds");
  if (source->contains("mask")) sample.mask = require("mask");
  if (auto found = metadata.find(kPromptMetadata); found != metadata.end()) sample.prompt = found->second;
  if (auto found = metadata.find(kEnhancedPromptMetadata); found != metadata.end()) {
    sample.enhanced_prompt = found->second;
  }
  return sample;
}

}  // namespace flux_kontext
