#pragma once
// What the cache stage computes and where: the dataset's samples with their processed sizes,
// each sample's cache key and file, and the empty-prompt embeddings used for caption dropout.
// fit reads the same plan, so it finds exactly the files the cache stage wrote.
#include <atomic>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "flux_kontext/data/dataset_index.hpp"
#include "flux_kontext/trainer/kontext_components.hpp"
#include "flux_kontext/trainer/sample_cache.hpp"
#include "flux_kontext/data/sample_preprocessing.hpp"
#include "flux_kontext/trainer/trainer_config.hpp"
#include "omni/prompt_enhancer.hpp"
#include "omni/temporary_folder.hpp"

namespace flux_kontext {

struct PlannedSample {
  DatasetSample source;
  SampleSizes sizes;
  std::string key;
  std::filesystem::path file;
};

struct CachePlan {
  std::vector<PlannedSample> samples;
  std::string empty_prompt_key;
  std::filesystem::path empty_prompt_file;
};

// What beyond the files and settings decides a cache entry.
struct CacheKeyContext {
  std::string enhancer_identity;  // empty when no prompt enhancer is used
  std::string position_id_scheme;  // FluxKontextTrainer::position_id_scheme()
};

// Indexes `data`, reads image headers and fingerprints every input file. Loads no model.
CachePlan plan_cache(const TrainerConfig& config, const DataConfig& data,
                     const KontextModelPaths& paths, const CacheKeyContext& context);

// Whether `file` exists and was written for `key` (reads only its header).
bool cache_entry_valid(const std::filesystem::path& file, const std::string& key);

struct CacheDevices {
  c10::Device vae = c10::Device(c10::kCPU);
  c10::Device clip = c10::Device(c10::kCPU);
  c10::Device t5 = c10::Device(c10::kCPU);

  // The devices a stage's device map names (`vae`, else `vae_encoder`; unset: the CPU).
  static CacheDevices from(const DeviceMap& devices);
};

// Computes the entries of `plan` that are missing or stale; returns how many it wrote. Loads
// the VAE and text encoders only when there is something to compute, and frees them before
// returning. Stops between samples when `stop` is set (what is written stays valid). The text
// encoders are built by name through `components` (load_text_encoders).
std::size_t fill_cache(const TrainerConfig& config, const CachePlan& plan,
                       const KontextModelPaths& paths, const CacheDevices& devices,
                       omni::PromptEnhancer* enhancer, const std::atomic<bool>* stop,
                       const omni::ComponentProvider* components);

// Where fit and validation encode their data. With a cache (cache.use_cache: true) that is
// the config as it is. Without one, a private folder that lives as long as this object
// replaces cache.cache_dir, and the encoders and the enhancer run on train.fit_device's
// entries, else cache.devices'.
struct EncodingSetup {
  TrainerConfig config;  // cache.cache_dir and cache.devices as encoding uses them
  std::optional<omni::TemporaryFolder> private_folder;

  EncodingSetup(const TrainerConfig& trainer_config, std::string_view purpose);
};

}  // namespace flux_kontext
