#pragma once
// The config.json of a Hugging Face Qwen2.5-VL folder (Qwen2_5_VLConfig). Text fields are
// read from `text_config` when present (newer transformers) and else from the top level (the
// released checkpoints); the vision tower's fields come from `vision_config`.
#include <cstdint>
#include <filesystem>
#include <vector>

namespace qwen_vl {

struct QwenVisionConfig {
  std::int64_t depth = 32;
  std::int64_t hidden_size = 1280;
  std::int64_t intermediate_size = 3420;
  std::int64_t num_heads = 16;
  std::int64_t in_channels = 3;
  std::int64_t patch_size = 14;
  std::int64_t temporal_patch_size = 2;
  std::int64_t spatial_merge_size = 2;
  std::int64_t window_size = 112;  // pixels
  std::int64_t out_hidden_size = 3584;
  std::vector<std::int64_t> fullatt_block_indexes = {7, 15, 23, 31};

  std::int64_t head_dim() const { return hidden_size / num_heads; }
  // Values per patch row of pixel_values: channels x frames x patch x patch (1176).
  std::int64_t patch_values() const {
    return in_channels * temporal_patch_size * patch_size * patch_size;
  }
  // Side of an attention window in merged tokens (112 / (2 * 14) = 4).
  std::int64_t merged_window() const { return window_size / (spatial_merge_size * patch_size); }
  bool is_full_attention(std::int64_t block) const;
};

struct QwenTextConfig {
  std::int64_t vocab_size = 0;
  std::int64_t hidden_size = 0;
  std::int64_t intermediate_size = 0;
  std::int64_t num_hidden_layers = 0;
  std::int64_t num_attention_heads = 0;
  std::int64_t num_key_value_heads = 0;
  std::int64_t max_position_embeddings = 0;
  double rms_norm_eps = 1e-6;
  double rope_theta = 1e6;
  std::vector<std::int64_t> mrope_section;  // sums to head_dim / 2
  bool tie_word_embeddings = false;

  std::int64_t head_dim() const { return hidden_size / num_attention_heads; }
};

struct QwenVlConfig {
  QwenTextConfig text;
  QwenVisionConfig vision;
  std::int64_t image_token_id = 0;
  std::int64_t video_token_id = 0;
  std::int64_t vision_start_token_id = 0;
  std::int64_t vision_end_token_id = 0;
  std::vector<std::int64_t> eos_token_ids;  // eos_token_id: one id or a list

  // Reads and checks `config_json`; throws omni::Error naming the file and the key.
  static QwenVlConfig from_file(const std::filesystem::path& config_json);
};

}  // namespace qwen_vl
