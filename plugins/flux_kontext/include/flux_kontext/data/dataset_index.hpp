#pragma once
// The samples of `data.dataset_path`: which files make up each (target, controls, prompt,
// mask) sample. Only names are looked at here; nothing is decoded. The layouts are those of
// the upstream Python tool (qflux), so its users' datasets carry over unchanged.
//
// A dataset folder holds a target folder (the first of training_images, images,
// target_images, target, targets that exists) and a control folder (the first of
// control_images, control, condition_images, controls). For each sample stem:
//   <target folder>/<stem>.<ext>               the target image
//   <control folder>/<stem>.<ext>              control 0
//   <control folder>/<stem>_control_<N>.<ext>  control N, numbered 1, 2, ... without gaps
//   <stem>.txt                                 the prompt, in the target folder, else in the
//                                              control folder
//   <stem>_mask.<ext>                          the optional edit mask, in the target folder,
//                                              else in the control folder (as qflux looks)
// with <ext> png, jpg or jpeg (any case), the formats the project decodes. Samples are sorted
// by stem (byte order), so the order never depends on the file system.
//
// A manifest is a .csv file (a header row, then one row per sample) or a .jsonl file (one
// object per line) with the columns / keys
//   path_target or target, path_control or control, path_control_1 or control_1, ...,
//   prompt (the text itself), and optionally path_mask or mask;
// in JSON Lines `control` may instead be a list of every control. Relative paths resolve
// against the manifest's folder; other columns are ignored.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>


namespace flux_kontext {

struct DatasetSample {
  // For messages and cache names: the stem for a folder sample, `<manifest name>:<line>` for
  // a manifest row. Unique within one dataset path, not across several.
  std::string id;
  std::filesystem::path target;  // empty when the sample has none (prediction sets)
  std::vector<std::filesystem::path> controls;
  std::string prompt;  // UTF-8, trailing white space removed
  std::optional<std::filesystem::path> mask;
};

struct DatasetIndexOptions {
  // As in qflux: control 0 is always kept, and these 1-based indexes of the extra controls
  // (`_control_1` is 1) say which of them follow it, in this order; empty keeps them all.
  // A sample lacking one of them is an error.
  std::vector<int> selected_control_indexes;
  // Training needs a target per sample; prediction sets may have controls and prompts only.
  bool require_target = true;
  // A manifest's paths must stay inside the manifest's folder (after `..` and symlinks),
  // so that a data set found somewhere cannot make the trainer read other files; this lets
  // them point anywhere (data.init_args.allow_paths_outside_dataset).
  bool allow_paths_outside = false;
};

// The samples of every path in order, each a dataset folder or a .csv / .jsonl manifest.
// Throws omni::Error naming the path or file at fault and what was expected.
std::vector<DatasetSample> index_dataset(const std::vector<std::string>& paths,
                                         const DatasetIndexOptions& options = {});

}  // namespace flux_kontext
