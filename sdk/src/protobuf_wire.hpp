#pragma once
// The protocol buffer wire format, by hand: the few field kinds TensorBoard's Event and
// Summary messages use. Linking libprotobuf instead would clash with the private copy that
// LibTorch (and libsentencepiece) carry.
#include <cstdint>
#include <string>
#include <string_view>

namespace omni::detail::protobuf {

enum WireType : int { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

// Appends fields to a message. Nested messages are built in their own writer and added with
// message(), which writes the length prefix the wire format needs first.
class Writer {
 public:
  void varint(int field, std::uint64_t value);
  void int64(int field, std::int64_t value) { varint(field, static_cast<std::uint64_t>(value)); }
  void float32(int field, float value);
  void float64(int field, double value);
  void bytes(int field, std::string_view value);
  void message(int field, const Writer& nested) { bytes(field, nested.data()); }

  const std::string& data() const { return data_; }

 private:
  void tag(int field, WireType type);
  void raw_varint(std::uint64_t value);

  std::string data_;
};

struct Field {
  int number = 0;
  WireType type = kVarint;
  std::uint64_t value = 0;  // kVarint, kFixed64 and kFixed32: the raw bits
  std::string_view bytes;   // kLengthDelimited: a view into the decoded buffer

  float as_float() const;
  double as_double() const;
};

// Reads the fields of one message in order. Every length is checked against the buffer;
// truncated or malformed input throws omni::Error saying what and at which byte offset.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  // False at the end of the message.
  bool next(Field& field);

 private:
  std::uint64_t read_varint();
  [[noreturn]] void fail(std::string_view what) const;

  std::string_view data_;
  std::size_t offset_ = 0;
};

}  // namespace omni::detail::protobuf
