#pragma once
// TFRecord, the framing of TensorBoard event files: each record is
//   uint64 length (little-endian), uint32 masked CRC-32C of those 8 bytes,
//   `length` bytes of data, uint32 masked CRC-32C of the data.
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "omni/export.hpp"

namespace omni {

// `data` framed as one record, ready to append to a file.
OMNI_API std::string frame_tfrecord(std::string_view data);

// The data of every record in `file`, both CRCs of each checked. Throws omni::Error naming
// the file, the record's index and byte offset, and what is wrong (a CRC mismatch, a length
// past the end of the file, a truncated header).
OMNI_API std::vector<std::string> read_tfrecords(const std::filesystem::path& file);

}  // namespace omni
