#pragma once
// A complete FLUX.1 Kontext pipeline folder in miniature (diffusers layout: model_index.json,
// transformer/, vae/, scheduler/, text_encoder/, text_encoder_2/, tokenizer/, tokenizer_2/)
// with seeded random weights and the project's own tiny tokenizers: what the end-to-end tests
// and the quickstart train on, with no downloaded file.
#include <cstdint>
#include <filesystem>


namespace flux_kontext {

// Writes the pipeline into `folder` (created; existing files are replaced). The same seed
// gives the same bytes.
void write_tiny_kontext_pipeline(const std::filesystem::path& folder,
                                 std::uint64_t seed = 0);

}  // namespace flux_kontext
