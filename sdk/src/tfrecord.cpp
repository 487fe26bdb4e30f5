#include "omni/tfrecord.hpp"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "omni/crc32c.hpp"
#include "omni/error.hpp"

namespace omni {
namespace {

void put_le(std::string& out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>(value >> (8 * i)));
}

std::uint64_t get_le(std::string_view in, int bytes) {
  std::uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) {
    value |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(in[i])) << (8 * i);
  }
  return value;
}

constexpr std::size_t kHeaderBytes = 12;  // length + its CRC
constexpr std::size_t kFooterBytes = 4;   // the data's CRC

}  // namespace

std::string frame_tfrecord(std::string_view data) {
  std::string record;
  record.reserve(kHeaderBytes + data.size() + kFooterBytes);
  put_le(record, data.size(), 8);
  put_le(record, mask_crc32c(crc32c(std::string_view(record.data(), 8))), 4);
  record.append(data);
  put_le(record, mask_crc32c(crc32c(data)), 4);
  return record;
}

std::vector<std::string> read_tfrecords(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    throw Error(
        fmt::format("cannot read TFRecord file '{}': {}", file.string(), std::strerror(errno)));
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  const std::string content = buffer.str();
  const std::string_view all(content);

  std::vector<std::string> records;
  std::size_t offset = 0;
  while (offset < all.size()) {
    auto fail = [&](const std::string& what) {
      throw Error(fmt::format("TFRecord file '{}': record {} at byte {}: {}", file.string(),
                              records.size(), offset, what));
    };
    const std::size_t left = all.size() - offset;
    if (left < kHeaderBytes) {
      fail(fmt::format("truncated header ({} of {} bytes; was the writer interrupted?)", left,
                       kHeaderBytes));
    }
    const std::string_view header = all.substr(offset, kHeaderBytes);
    const std::uint64_t length = get_le(header, 8);
    const auto length_crc = static_cast<std::uint32_t>(get_le(header.substr(8), 4));
    if (mask_crc32c(crc32c(header.substr(0, 8))) != length_crc) fail("length CRC mismatch");
    if (length > left - kHeaderBytes || left - kHeaderBytes - length < kFooterBytes) {
      fail(fmt::format("the record claims {} bytes but only {} remain", length,
                       left - kHeaderBytes));
    }
    const std::string_view data = all.substr(offset + kHeaderBytes, length);
    const auto data_crc =
        static_cast<std::uint32_t>(get_le(all.substr(offset + kHeaderBytes + length), 4));
    if (mask_crc32c(crc32c(data)) != data_crc) fail("data CRC mismatch");
    records.emplace_back(data);
    offset += kHeaderBytes + length + kFooterBytes;
  }
  return records;
}

}  // namespace omni
