#pragma once
// Training logs TensorBoard reads: an `events.out.tfevents.<unix seconds>.<hostname>.<pid>`
// file of TFRecord-framed Event protos (tensorflow/core/util/event.proto,
// tensorflow/core/framework/summary.proto), encoded here without a protobuf library.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "omni/export.hpp"

namespace omni {

class OMNI_API TensorBoardWriter {
 public:
  // Creates `folder` if needed and a new event file in it, whose first record is the
  // `file_version: "brain.Event:2"` event TensorBoard expects. Throws omni::Error naming the
  // folder or file.
  explicit TensorBoardWriter(const std::filesystem::path& folder);
  // Flushes; a failure then is reported on stderr, since a destructor cannot throw.
  ~TensorBoardWriter();
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;

  const std::filesystem::path& file() const { return file_; }

  // Summary.Value.simple_value, which is a float: `value` is rounded to single precision.
  void add_scalar(const std::string& tag, double value, std::int64_t step);
  // An encoded PNG of `height` x `width` with `channels` 1 (grey), 2 (grey + alpha), 3 (RGB)
  // or 4 (RGBA); the sizes are checked against the PNG's own header.
  void add_image(const std::string& tag, std::string_view png_bytes, int height, int width,
                 int channels, std::int64_t step);
  // Shown by TensorBoard's Text tab (markdown).
  void add_text(const std::string& tag, const std::string& text, std::int64_t step);

  // Writes what is buffered to the file. Events are also written on their own once enough
  // is buffered or some seconds have passed, so a crash loses little.
  void flush();

 private:
  void append_event(std::string_view event);
  void check_tag(const std::string& tag, std::string_view what) const;

  std::filesystem::path file_;
  int fd_ = -1;
  std::string pending_;
  std::chrono::steady_clock::time_point last_flush_;
};

}  // namespace omni
