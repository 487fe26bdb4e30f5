#include "omni/tensorboard_reader.hpp"

#include <fmt/format.h>

#include "omni/error.hpp"
#include "omni/tfrecord.hpp"
#include "protobuf_wire.hpp"

namespace omni {
namespace {

using detail::protobuf::Field;
using detail::protobuf::Reader;
namespace wire = detail::protobuf;

// A field whose wire type is not the one its number has in the schema.
void expect(const Field& field, wire::WireType type, const char* name) {
  if (field.type != type) {
    throw Error(fmt::format("field {} ({}) has wire type {}, expected {}", field.number, name,
                            static_cast<int>(field.type), static_cast<int>(type)));
  }
}

TensorBoardImage decode_image(std::string_view data) {
  TensorBoardImage image;
  Reader reader(data);
  for (Field field; reader.next(field);) {
    switch (field.number) {
      case 1:
        expect(field, wire::kVarint, "height");
        image.height = int(field.value);
        break;
      case 2:
        expect(field, wire::kVarint, "width");
        image.width = int(field.value);
        break;
      case 3:
        expect(field, wire::kVarint, "colorspace");
        image.colorspace = int(field.value);
        break;
      case 4:
        expect(field, wire::kLengthDelimited, "encoded_image_string");
        image.encoded = std::string(field.bytes);
        break;
      default:
        break;
    }
  }
  return image;
}

std::string decode_plugin_name(std::string_view metadata) {
  Reader reader(metadata);
  for (Field field; reader.next(field);) {
    if (field.number != 1) continue;  // SummaryMetadata.plugin_data
    expect(field, wire::kLengthDelimited, "plugin_data");
    Reader plugin(field.bytes);
    for (Field inner; plugin.next(inner);) {
      if (inner.number == 1) {
        expect(inner, wire::kLengthDelimited, "plugin_name");
        return std::string(inner.bytes);
      }
    }
  }
  return {};
}

std::optional<std::string> decode_string_tensor(std::string_view data) {
  Reader reader(data);
  for (Field field; reader.next(field);) {
    if (field.number == 8) {  // TensorProto.string_val
      expect(field, wire::kLengthDelimited, "string_val");
      return std::string(field.bytes);
    }
  }
  return std::nullopt;
}

TensorBoardValue decode_value(std::string_view data) {
  TensorBoardValue value;
  Reader reader(data);
  for (Field field; reader.next(field);) {
    switch (field.number) {
      case 1:
        expect(field, wire::kLengthDelimited, "tag");
        value.tag = field.bytes;
        break;
      case 2:
        expect(field, wire::kFixed32, "simple_value");
        value.simple_value = field.as_float();
        break;
      case 4:
        expect(field, wire::kLengthDelimited, "image");
        value.image = decode_image(field.bytes);
        break;
      case 8:
        expect(field, wire::kLengthDelimited, "tensor");
        value.text = decode_string_tensor(field.bytes);
        break;
      case 9:
        expect(field, wire::kLengthDelimited, "metadata");
        value.plugin_name = decode_plugin_name(field.bytes);
        break;
      default:
        break;
    }
  }
  return value;
}

TensorBoardEvent decode_event(std::string_view data) {
  TensorBoardEvent event;
  Reader reader(data);
  for (Field field; reader.next(field);) {
    switch (field.number) {
      case 1:
        expect(field, wire::kFixed64, "wall_time");
        event.wall_time = field.as_double();
        break;
      case 2:
        expect(field, wire::kVarint, "step");
        event.step = static_cast<std::int64_t>(field.value);
        break;
      case 3:
        expect(field, wire::kLengthDelimited, "file_version");
        event.file_version = std::string(field.bytes);
        break;
      case 5: {
        expect(field, wire::kLengthDelimited, "summary");
        Reader summary(field.bytes);
        for (Field entry; summary.next(entry);) {
          if (entry.number != 1) continue;  // Summary.value
          expect(entry, wire::kLengthDelimited, "value");
          event.values.push_back(decode_value(entry.bytes));
        }
        break;
      }
      default:
        break;
    }
  }
  return event;
}

}  // namespace

std::vector<TensorBoardEvent> read_tensorboard_events(const std::filesystem::path& file) {
  std::vector<TensorBoardEvent> events;
  const std::vector<std::string> records = read_tfrecords(file);
  for (std::size_t i = 0; i < records.size(); ++i) {
    try {
      events.push_back(decode_event(records[i]));
    } catch (const Error& error) {
      throw Error(fmt::format("TensorBoard event file '{}': record {} is not a valid Event: {}",
                              file.string(), i, error.what()));
    }
  }
  return events;
}

}  // namespace omni
