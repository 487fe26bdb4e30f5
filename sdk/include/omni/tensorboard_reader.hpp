#pragma once
// Reading back what TensorBoardWriter writes: for tests and for inspecting a run's logs.
// Decodes the parts of Event and Summary that the writer fills; other fields are skipped.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "omni/export.hpp"

namespace omni {

struct TensorBoardImage {
  int height = 0;
  int width = 0;
  int colorspace = 0;
  std::string encoded;  // the PNG bytes
};

struct TensorBoardValue {
  std::string tag;
  std::string plugin_name;  // from the value's metadata, if it has one
  std::optional<float> simple_value;
  std::optional<TensorBoardImage> image;
  std::optional<std::string> text;  // the first string of a DT_STRING tensor
};

struct TensorBoardEvent {
  double wall_time = 0;
  std::int64_t step = 0;
  std::optional<std::string> file_version;
  std::vector<TensorBoardValue> values;
};

// Every event of `file`, with the TFRecord CRCs checked. Throws omni::Error naming the file,
// the record and what is malformed.
OMNI_API std::vector<TensorBoardEvent> read_tensorboard_events(const std::filesystem::path& file);

}  // namespace omni
