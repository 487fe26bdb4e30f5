// Dataset folders in qflux's layout; see flux_kontext/data/dataset_index.hpp for the rules.
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "data/dataset_files.hpp"
#include "omni/error.hpp"

namespace flux_kontext::detail {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kMaskSuffix = "_mask";
constexpr std::string_view kControlInfix = "_control_";

template <std::size_t N>
std::optional<fs::path> find_subfolder(const fs::path& root, const std::string_view (&names)[N]) {
  for (std::string_view name : names) {
    std::error_code error;
    if (fs::is_directory(root / name, error)) return root / name;
  }
  return std::nullopt;
}

// What an image's stem says it is: `<stem>_mask`, `<stem>_control_<N>`, or plain `<stem>`.
struct ImageName {
  enum Kind { kPlain, kMask, kControl } kind = kPlain;
  std::string stem;
  int control = 0;
};

ImageName classify(const std::string& name) {
  const std::size_t size = name.size();
  if (size > kMaskSuffix.size() &&
      name.compare(size - kMaskSuffix.size(), kMaskSuffix.size(), kMaskSuffix) == 0) {
    return {ImageName::kMask, name.substr(0, size - kMaskSuffix.size())};
  }
  const std::size_t infix = name.rfind(kControlInfix);
  if (infix != std::string::npos && infix > 0) {
    const std::string digits = name.substr(infix + kControlInfix.size());
    const bool numeric = !digits.empty() && digits.size() <= 6 &&
                         digits.find_first_not_of("0123456789") == std::string::npos;
    if (numeric) return {ImageName::kControl, name.substr(0, infix), std::stoi(digits)};
  }
  return {ImageName::kPlain, name};
}

// The files of one sub-folder, by stem.
struct Listing {
  fs::path folder;
  std::map<std::string, fs::path> images, masks, prompts;
  std::map<std::string, std::map<int, fs::path>> extra_controls;
};

void add_unique(std::map<std::string, fs::path>& files, const std::string& key,
                const fs::path& file) {
  auto [it, inserted] = files.emplace(key, file);
  if (!inserted) {
    throw omni::Error(
        fmt::format("both '{}' and '{}' exist: one sample needs exactly one of "
                    "them; remove or rename the other",
                    it->second.string(), file.string()));
  }
}

Listing list_folder(const fs::path& folder, bool is_control_folder) {
  Listing listing;
  listing.folder = folder;
  std::error_code error;
  std::vector<fs::path> files;
  for (fs::directory_iterator it(folder, error), end; !error && it != end; it.increment(error)) {
    const std::string name = it->path().filename().string();
    // Hidden files are editor and OS leftovers (.DS_Store, ._x.png), never samples.
    if (name.empty() || name[0] == '.') continue;
    std::error_code status_error;
    if (fs::is_regular_file(it->path(), status_error)) files.push_back(it->path());
  }
  if (error) {
    throw omni::Error(
        fmt::format("cannot list dataset folder '{}': {}", folder.string(), error.message()));
  }
  for (const fs::path& file : files) {
    const std::string stem = file.stem().string();
    if (lower_extension(file) == "txt") {
      listing.prompts.emplace(stem, file);
      continue;
    }
    if (is_undecodable_image(file)) require_decodable(file, "dataset image");
    if (!is_decodable_image(file)) continue;  // notes, metadata: not part of any sample
    const ImageName image = classify(stem);
    switch (image.kind) {
      case ImageName::kPlain:
        add_unique(listing.images, image.stem, file);
        break;
      case ImageName::kMask:
        add_unique(listing.masks, image.stem, file);
        break;
      case ImageName::kControl: {
        if (!is_control_folder) {
          throw omni::Error(
              fmt::format("'{}' is named as control {} of sample '{}' but lies in "
                          "the target folder; extra controls belong in the "
                          "control folder",
                          file.string(), image.control, image.stem));
        }
        if (image.control == 0) {
          throw omni::Error(
              fmt::format("'{}': control 0 of sample '{}' is named '{}.<ext>', "
                          "extra controls start at '_control_1'",
                          file.string(), image.stem, image.stem));
        }
        std::map<int, fs::path>& extras = listing.extra_controls[image.stem];
        auto [it, inserted] = extras.emplace(image.control, file);
        if (!inserted) {
          throw omni::Error(
              fmt::format("both '{}' and '{}' exist: one sample needs exactly "
                          "one of them; remove or rename the other",
                          it->second.string(), file.string()));
        }
        break;
      }
    }
  }
  return listing;
}

std::string image_pattern(const fs::path& folder, const std::string& stem) {
  return fmt::format("'{}.<ext>' (<ext>: {})", (folder / stem).string(), decodable_image_list());
}

// Control 0 followed by controls 1..N, which must have no gaps.
std::vector<fs::path> controls_of(const std::string& stem, const Listing& control,
                                  const std::optional<fs::path>& target) {
  std::vector<fs::path> controls;
  auto main = control.images.find(stem);
  if (main == control.images.end()) {
    throw omni::Error(fmt::format("target image '{}' has no control image: expected {}",
                                  target ? target->string() : stem,
                                  image_pattern(control.folder, stem)));
  }
  controls.push_back(main->second);
  auto extras = control.extra_controls.find(stem);
  if (extras == control.extra_controls.end()) return controls;
  int expected = 1;
  for (const auto& [number, file] : extras->second) {
    if (number != expected) {
      throw omni::Error(
          fmt::format("'{}' is control {} of sample '{}' but control {} is "
                      "missing: expected {}; controls are numbered 1, 2, ... "
                      "without gaps",
                      file.string(), number, stem, expected,
                      image_pattern(control.folder, fmt::format("{}_control_{}", stem, expected))));
    }
    controls.push_back(file);
    ++expected;
  }
  return controls;
}

}  // namespace

std::vector<DatasetSample> index_folder(const fs::path& folder,
                                        const DatasetIndexOptions& options) {
  const std::optional<fs::path> target_folder = find_subfolder(folder, kTargetFolderNames);
  const std::optional<fs::path> control_folder = find_subfolder(folder, kControlFolderNames);
  if (!control_folder || (!target_folder && options.require_target)) {
    std::vector<std::string> missing;
    if (!target_folder) {
      missing.push_back(
          fmt::format("a target folder (one of {})", fmt::join(kTargetFolderNames, ", ")));
    }
    if (!control_folder) {
      missing.push_back(
          fmt::format("a control folder (one of {})", fmt::join(kControlFolderNames, ", ")));
    }
    throw omni::Error(fmt::format("dataset folder '{}' has no samples: it needs {}",
                                  folder.string(), fmt::join(missing, " and ")));
  }
  const Listing control = list_folder(*control_folder, true);
  const Listing target = target_folder ? list_folder(*target_folder, false) : Listing{};

  std::set<std::string> stems;
  for (const auto& [stem, file] : target.images) stems.insert(stem);
  for (const auto& [stem, file] : control.images) {
    if (stems.count(stem)) continue;
    if (options.require_target) {
      throw omni::Error(fmt::format("control image '{}' has no target image: expected {}",
                                    file.string(), image_pattern(*target_folder, stem)));
    }
    stems.insert(stem);
  }
  for (const auto& [stem, extras] : control.extra_controls) {
    if (!stems.count(stem)) {
      throw omni::Error(fmt::format(
          "control image '{}' belongs to no sample: there is no "
          "target {} and no control 0 {}",
          extras.begin()->second.string(), target_folder ? image_pattern(*target_folder, stem) : "",
          image_pattern(*control_folder, stem)));
    }
  }
  for (const Listing* listing : {&target, &control}) {
    for (const auto& [stem, file] : listing->masks) {
      if (!stems.count(stem)) {
        throw omni::Error(
            fmt::format("mask '{}' belongs to no sample: there is no image "
                        "'{}.<ext>' in the target or control folder",
                        file.string(), stem));
      }
    }
  }
  if (stems.empty()) {
    throw omni::Error(fmt::format(
        "dataset folder '{}' has no samples: no {} images in '{}' "
        "(target folder, one of {}) or '{}' (control folder, one of "
        "{})",
        folder.string(), decodable_image_list(), target_folder ? target_folder->string() : "-",
        fmt::join(kTargetFolderNames, ", "), control_folder->string(),
        fmt::join(kControlFolderNames, ", ")));
  }

  std::vector<DatasetSample> samples;
  samples.reserve(stems.size());
  // std::set iterates in byte order of the stems: the same order on every file system.
  for (const std::string& stem : stems) {
    DatasetSample sample;
    sample.id = stem;
    std::optional<fs::path> target_file;
    if (auto it = target.images.find(stem); it != target.images.end()) target_file = it->second;
    if (target_file) sample.target = *target_file;
    sample.controls = controls_of(stem, control, target_file);

    // Target folder first, then the control folder, for prompts and masks alike.
    const fs::path* prompt = nullptr;
    for (const Listing* listing : {&target, &control}) {
      if (auto it = listing->prompts.find(stem); !prompt && it != listing->prompts.end()) {
        prompt = &it->second;
      }
      if (auto it = listing->masks.find(stem); !sample.mask && it != listing->masks.end()) {
        sample.mask = it->second;
      }
    }
    if (!prompt) {
      const fs::path& first = target_folder ? *target_folder : *control_folder;
      throw omni::Error(fmt::format(
          "dataset sample '{}' in '{}' has no prompt: expected '{}'{}", stem, folder.string(),
          (first / (stem + ".txt")).string(),
          target_folder ? fmt::format(" (or '{}')", (*control_folder / (stem + ".txt")).string())
                        : ""));
    }
    sample.prompt = read_prompt_file(*prompt);
    samples.push_back(std::move(sample));
  }
  return samples;
}

}  // namespace flux_kontext::detail
