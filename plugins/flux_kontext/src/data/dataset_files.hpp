#pragma once
// What the dataset indexers share: the file kinds they accept and how they read prompts.
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "flux_kontext/data/dataset_index.hpp"

namespace flux_kontext::detail {

// Sub-folder names of a dataset folder, in the order qflux tries them: the first that exists
// is used.
inline constexpr std::string_view kTargetFolderNames[] = {"training_images", "images",
                                                          "target_images", "target", "targets"};
inline constexpr std::string_view kControlFolderNames[] = {"control_images", "control",
                                                           "condition_images", "controls"};

// The file name's extension, lower case and without the dot.
std::string lower_extension(const std::filesystem::path& file);
// png, jpg, jpeg: what the project decodes.
bool is_decodable_image(const std::filesystem::path& file);
// Image formats qflux accepts that the project cannot decode (webp, bmp, ...).
bool is_undecodable_image(const std::filesystem::path& file);
// "png, jpg or jpeg", for messages.
std::string decodable_image_list();
// Throws naming `what` (the manifest row or folder) when `file` is an image the project
// cannot decode, saying which formats it can.
void require_decodable(const std::filesystem::path& file, std::string_view what);

// Prompt text as written, less trailing white space; throws naming `source` when the text is
// not UTF-8. A leading byte order mark (Notepad writes one) is dropped.
std::string clean_prompt(std::string text, std::string_view source);
std::string read_prompt_file(const std::filesystem::path& file);

std::vector<DatasetSample> index_folder(const std::filesystem::path& folder,
                                        const DatasetIndexOptions& options);
std::vector<DatasetSample> index_csv_manifest(const std::filesystem::path& file,
                                              const DatasetIndexOptions& options);
std::vector<DatasetSample> index_jsonl_manifest(const std::filesystem::path& file,
                                                const DatasetIndexOptions& options);

}  // namespace flux_kontext::detail
