#include "flux_kontext/data/dataset_index.hpp"

#include <fmt/format.h>

#include "data/dataset_files.hpp"
#include "omni/error.hpp"

namespace flux_kontext {

namespace fs = std::filesystem;

namespace {

std::vector<DatasetSample> index_path(const std::string& path, const DatasetIndexOptions& options) {
  if (path.empty()) throw omni::Error("data.dataset_path: an entry is empty");
  std::error_code error;
  const fs::file_status status = fs::status(path, error);
  if (!fs::exists(status)) {
    throw omni::Error(
        fmt::format("dataset path '{}' does not exist (data.dataset_path lists "
                    "dataset folders and .csv / .jsonl manifests)",
                    path));
  }
  if (fs::is_directory(status)) return detail::index_folder(path, options);
  const std::string extension = detail::lower_extension(path);
  if (extension == "csv") return detail::index_csv_manifest(path, options);
  if (extension == "jsonl") return detail::index_jsonl_manifest(path, options);
  throw omni::Error(
      fmt::format("dataset path '{}' is neither a folder nor a manifest; "
                  "manifests are .csv or .jsonl files",
                  path));
}

// Control 0, then the extra controls `selected` (1-based) of `sample`, in that order.
void select_controls(DatasetSample& sample, const std::vector<int>& selected) {
  std::vector<fs::path> kept{sample.controls.at(0)};
  const std::size_t extras = sample.controls.size() - 1;
  for (int index : selected) {
    if (index < 1 || static_cast<std::size_t>(index) > extras) {
      throw omni::Error(fmt::format(
          "dataset sample '{}' (control 0: '{}') has {} extra control image(s), but "
          "data.selected_control_indexes asks for {}; the indexes count the extra controls "
          "from 1 (`_control_1`), control 0 is always used",
          sample.id, sample.controls[0].string(), extras, index));
    }
    kept.push_back(sample.controls[static_cast<std::size_t>(index)]);
  }
  sample.controls = std::move(kept);
}

}  // namespace

std::vector<DatasetSample> index_dataset(const std::vector<std::string>& paths,
                                         const DatasetIndexOptions& options) {
  if (paths.empty()) {
    throw omni::Error(
        "data.dataset_path is empty: list at least one dataset folder or "
        ".csv / .jsonl manifest");
  }
  std::vector<DatasetSample> samples;
  for (const std::string& path : paths) {
    std::vector<DatasetSample> found = index_path(path, options);
    for (DatasetSample& sample : found) samples.push_back(std::move(sample));
  }
  if (!options.selected_control_indexes.empty()) {
    for (DatasetSample& sample : samples) {
      select_controls(sample, options.selected_control_indexes);
    }
  }
  return samples;
}

}  // namespace flux_kontext
