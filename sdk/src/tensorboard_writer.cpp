#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>

#include "omni/error.hpp"
#include "omni/tensorboard.hpp"
#include "omni/tfrecord.hpp"
#include "omni/utf8.hpp"
#include "protobuf_wire.hpp"

namespace omni {
namespace {

namespace fs = std::filesystem;
using detail::protobuf::Writer;

// Field numbers of tensorflow/core/util/event.proto and framework/summary.proto.
namespace event {
constexpr int kWallTime = 1, kStep = 2, kFileVersion = 3, kSummary = 5;
}
namespace summary {
constexpr int kValue = 1;
}
namespace value {
constexpr int kTag = 1, kSimpleValue = 2, kImage = 4, kTensor = 8, kMetadata = 9;
}
namespace image {
constexpr int kHeight = 1, kWidth = 2, kColorspace = 3, kEncoded = 4;
}
namespace metadata {  // SummaryMetadata and its PluginData
constexpr int kPluginData = 1, kPluginName = 1;
}
namespace tensor {  // tensor.proto, types.proto
constexpr int kDtype = 1, kShape = 2, kStringVal = 8;
constexpr int kDtString = 7;
}  // namespace tensor

// Written once enough is buffered, or this long after the last write, whichever comes first.
constexpr std::size_t kFlushBytes = 1 << 20;
constexpr auto kFlushInterval = std::chrono::seconds(10);

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

Writer event_header(std::int64_t step) {
  Writer event;
  event.float64(event::kWallTime, now_seconds());
  event.int64(event::kStep, step);
  return event;
}

// Event{wall_time, step, summary{value{...}}}.
std::string summary_event(std::int64_t step, const Writer& summary_value) {
  Writer summary;
  summary.message(summary::kValue, summary_value);
  Writer event = event_header(step);
  event.message(event::kSummary, summary);
  return event.data();
}

std::uint32_t big_endian_u32(std::string_view bytes) {
  std::uint32_t value = 0;
  for (int i = 0; i < 4; ++i) value = (value << 8) | static_cast<std::uint8_t>(bytes[i]);
  return value;
}

}  // namespace

TensorBoardWriter::TensorBoardWriter(const fs::path& folder) {
  std::error_code error;
  fs::create_directories(folder, error);
  if (error) {
    throw Error(fmt::format("cannot create the TensorBoard log folder '{}': {}", folder.string(),
                            error.message()));
  }
  const std::string base =
      fmt::format("events.out.tfevents.{}.{}.{}", static_cast<long long>(now_seconds()),
                  host_name(), ::getpid());
  // Two writers of one process opened in the same second would share the name; O_EXCL and a
  // counter keep them apart instead of interleaving their records.
  for (int attempt = 0; fd_ < 0; ++attempt) {
    file_ = folder / (attempt == 0 ? base : fmt::format("{}.{}", base, attempt));
    fd_ = ::open(file_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0 && (errno != EEXIST || attempt == 100)) {
      throw Error(fmt::format("cannot create TensorBoard event file '{}': {}", file_.string(),
                              std::strerror(errno)));
    }
  }
  last_flush_ = std::chrono::steady_clock::now();
  Writer first;
  first.float64(event::kWallTime, now_seconds());
  first.bytes(event::kFileVersion, "brain.Event:2");
  append_event(first.data());
  // TensorBoard recognises the run from the first record, before any step is logged.
  flush();
}

TensorBoardWriter::~TensorBoardWriter() {
  try {
    flush();
  } catch (const Error& error) {
    std::fprintf(stderr, "warning: %s\n", error.what());
  }
  ::close(fd_);
}

void TensorBoardWriter::check_tag(const std::string& tag, std::string_view what) const {
  if (tag.empty()) {
    throw Error(
        fmt::format("TensorBoard event file '{}': {} with an empty tag", file_.string(), what));
  }
  if (first_invalid_utf8(tag)) {
    throw Error(fmt::format("TensorBoard event file '{}': {} tag '{}' is not valid UTF-8",
                            file_.string(), what, tag));
  }
}

void TensorBoardWriter::add_scalar(const std::string& tag, double value, std::int64_t step) {
  check_tag(tag, "scalar");
  Writer summary_value;
  summary_value.bytes(value::kTag, tag);
  summary_value.float32(value::kSimpleValue, static_cast<float>(value));
  append_event(summary_event(step, summary_value));
}

void TensorBoardWriter::add_image(const std::string& tag, std::string_view png_bytes, int height,
                                  int width, int channels, std::int64_t step) {
  check_tag(tag, "image");
  auto fail = [&](const std::string& what) {
    throw Error(
        fmt::format("TensorBoard event file '{}': image '{}': {}", file_.string(), tag, what));
  };
  if (height <= 0 || width <= 0) fail(fmt::format("invalid size {}x{}", height, width));
  if (channels < 1 || channels > 4) {
    fail(fmt::format("{} channels; expected 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA)",
                     channels));
  }
  // Signature, then the IHDR chunk (length, "IHDR", width, height) which PNG requires first.
  constexpr std::string_view kSignature("\x89PNG\r\n\x1a\n", 8);
  if (png_bytes.size() < 24 || png_bytes.substr(0, 8) != kSignature ||
      png_bytes.substr(12, 4) != "IHDR") {
    fail("the bytes are not an encoded PNG (no PNG signature and IHDR chunk)");
  }
  const std::uint32_t png_width = big_endian_u32(png_bytes.substr(16));
  const std::uint32_t png_height = big_endian_u32(png_bytes.substr(20));
  if (png_width != static_cast<std::uint32_t>(width) ||
      png_height != static_cast<std::uint32_t>(height)) {
    fail(fmt::format("given as {}x{} (height x width) but the PNG is {}x{}", height, width,
                     png_height, png_width));
  }
  Writer encoded;
  encoded.varint(image::kHeight, static_cast<std::uint64_t>(height));
  encoded.varint(image::kWidth, static_cast<std::uint64_t>(width));
  // Colorspace 1..4 are grey, grey + alpha, RGB, RGBA: exactly the channel count.
  encoded.varint(image::kColorspace, static_cast<std::uint64_t>(channels));
  encoded.bytes(image::kEncoded, png_bytes);
  Writer summary_value;
  summary_value.bytes(value::kTag, tag);
  summary_value.message(value::kImage, encoded);
  append_event(summary_event(step, summary_value));
}

void TensorBoardWriter::add_text(const std::string& tag, const std::string& text,
                                 std::int64_t step) {
  check_tag(tag, "text");
  if (auto bad = first_invalid_utf8(text)) {
    throw Error(
        fmt::format("TensorBoard event file '{}': text '{}' is not valid UTF-8 (byte "
                    "{})",
                    file_.string(), tag, *bad));
  }
  // The text plugin's format: a scalar DT_STRING tensor, marked for the plugin "text".
  Writer plugin_data;
  plugin_data.bytes(metadata::kPluginName, "text");
  Writer summary_metadata;
  summary_metadata.message(metadata::kPluginData, plugin_data);
  Writer string_tensor;
  string_tensor.varint(tensor::kDtype, tensor::kDtString);
  string_tensor.message(tensor::kShape, Writer{});  // no dimensions: a scalar
  string_tensor.bytes(tensor::kStringVal, text);
  Writer summary_value;
  summary_value.bytes(value::kTag, tag);
  summary_value.message(value::kMetadata, summary_metadata);
  summary_value.message(value::kTensor, string_tensor);
  append_event(summary_event(step, summary_value));
}

void TensorBoardWriter::append_event(std::string_view event) {
  pending_ += frame_tfrecord(event);
  if (pending_.size() >= kFlushBytes ||
      std::chrono::steady_clock::now() - last_flush_ >= kFlushInterval) {
    flush();
  }
}

void TensorBoardWriter::flush() {
  std::size_t written = 0;
  while (written < pending_.size()) {
    const ssize_t count = ::write(fd_, pending_.data() + written, pending_.size() - written);
    if (count < 0) {
      if (errno == EINTR) continue;
      const int saved = errno;
      // Keep what did not make it, so a later flush can retry after space is freed.
      pending_.erase(0, written);
      throw Error(fmt::format("cannot write TensorBoard event file '{}': {}", file_.string(),
                              std::strerror(saved)));
    }
    written += static_cast<std::size_t>(count);
  }
  pending_.clear();
  last_flush_ = std::chrono::steady_clock::now();
}

}  // namespace omni
