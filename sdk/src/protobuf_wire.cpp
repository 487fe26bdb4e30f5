#include "protobuf_wire.hpp"

#include <cstring>

#include <fmt/format.h>

#include "omni/error.hpp"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "protobuf fixed-width fields are little-endian; a big-endian host needs swaps");

namespace omni::detail::protobuf {

void Writer::raw_varint(std::uint64_t value) {
  while (value >= 0x80) {
    data_.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  data_.push_back(static_cast<char>(value));
}

void Writer::tag(int field, WireType type) {
  raw_varint((static_cast<std::uint64_t>(field) << 3) | static_cast<std::uint64_t>(type));
}

void Writer::varint(int field, std::uint64_t value) {
  tag(field, kVarint);
  raw_varint(value);
}

void Writer::float32(int field, float value) {
  tag(field, kFixed32);
  char bytes[4];
  std::memcpy(bytes, &value, sizeof(bytes));
  data_.append(bytes, sizeof(bytes));
}

void Writer::float64(int field, double value) {
  tag(field, kFixed64);
  char bytes[8];
  std::memcpy(bytes, &value, sizeof(bytes));
  data_.append(bytes, sizeof(bytes));
}

void Writer::bytes(int field, std::string_view value) {
  tag(field, kLengthDelimited);
  raw_varint(value.size());
  data_.append(value);
}

float Field::as_float() const {
  const auto bits = static_cast<std::uint32_t>(value);
  float result;
  std::memcpy(&result, &bits, sizeof(result));
  return result;
}

double Field::as_double() const {
  double result;
  std::memcpy(&result, &value, sizeof(result));
  return result;
}

void Reader::fail(std::string_view what) const {
  throw Error(
      fmt::format("malformed protobuf message: {} at byte {} of {}", what, offset_, data_.size()));
}

std::uint64_t Reader::read_varint() {
  std::uint64_t value = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (offset_ >= data_.size()) fail("truncated varint");
    const auto byte = static_cast<std::uint8_t>(data_[offset_++]);
    value |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return value;
  }
  fail("varint longer than 10 bytes");
}

bool Reader::next(Field& field) {
  if (offset_ == data_.size()) return false;
  const std::uint64_t key = read_varint();
  const std::uint64_t number = key >> 3;
  if (number == 0 || number > 0x1fffffff) fail(fmt::format("invalid field number {}", number));
  field = Field{};
  field.number = static_cast<int>(number);
  field.type = static_cast<WireType>(key & 7);
  auto take = [&](std::uint64_t size) {
    if (size > data_.size() - offset_) {
      fail(fmt::format("field {} needs {} bytes but {} remain", number, size,
                       data_.size() - offset_));
    }
    std::string_view bytes = data_.substr(offset_, size);
    offset_ += size;
    return bytes;
  };
  switch (field.type) {
    case kVarint:
      field.value = read_varint();
      break;
    case kFixed64:
      std::memcpy(&field.value, take(8).data(), 8);
      break;
    case kFixed32: {
      std::uint32_t bits;
      std::memcpy(&bits, take(4).data(), 4);
      field.value = bits;
      break;
    }
    case kLengthDelimited:
      field.bytes = take(read_varint());
      break;
    default:
      // Groups (3, 4) are long deprecated and TensorBoard never writes them.
      fail(fmt::format("field {} has unsupported wire type {}", number, key & 7));
  }
  return true;
}

}  // namespace omni::detail::protobuf
