#include "safetensors_header.hpp"

#include <algorithm>
#include <limits>
#include <numeric>
#include <set>
#include <tuple>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "omni/error.hpp"

namespace omni::detail {
namespace {

using Json = nlohmann::json;

struct DtypeSize {
  std::string_view name;
  std::size_t bytes;
};

constexpr DtypeSize kDtypes[] = {
    {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2},   {"I64", 8},     {"I32", 4},
    {"I16", 2}, {"I8", 1},  {"U8", 1},  {"BOOL", 1}, {"F8_E4M3", 1}, {"F8_E5M2", 1},
};

// A valid header nests no deeper than root -> tensor entry -> shape; refusing deeper input
// early bounds the work a hostile header can cause.
constexpr int kMaxDepth = 3;

[[noreturn]] void fail(const std::string& path, std::string_view what) {
  throw Error(fmt::format("safetensors file '{}': {}", path, what));
}

[[noreturn]] void fail_tensor(const std::string& path, const std::string& name,
                              std::string_view what) {
  throw Error(fmt::format("safetensors file '{}': tensor '{}': {}", path, name, what));
}

// Offset of the first byte that is not part of well-formed UTF-8 (no overlong forms, no
// surrogates, nothing above U+10FFFF), or npos.
std::size_t find_invalid_utf8(const std::uint8_t* text, std::size_t size) {
  std::size_t i = 0;
  while (i < size) {
    const unsigned lead = text[i];
    if (lead < 0x80) {
      ++i;
      continue;
    }
    std::size_t length = 0;
    std::uint32_t code = 0, smallest = 0;
    if ((lead & 0xE0) == 0xC0) {
      length = 2, code = lead & 0x1F, smallest = 0x80;
    } else if ((lead & 0xF0) == 0xE0) {
      length = 3, code = lead & 0x0F, smallest = 0x800;
    } else if ((lead & 0xF8) == 0xF0) {
      length = 4, code = lead & 0x07, smallest = 0x10000;
    } else {
      return i;
    }
    if (size - i < length) return i;
    for (std::size_t k = 1; k < length; ++k) {
      const unsigned next = text[i + k];
      if ((next & 0xC0) != 0x80) return i;
      code = (code << 6) | (next & 0x3F);
    }
    if (code < smallest || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return i;
    i += length;
  }
  return std::string_view::npos;
}

std::string known_dtypes() {
  std::string out;
  for (const DtypeSize& d : kDtypes) out += (out.empty() ? "" : ", ") + std::string(d.name);
  return out;
}

// nlohmann keeps one value of a repeated key silently; a repeated tensor name must be an
// error, so keys are tracked per open object while parsing.
Json parse_json_rejecting_duplicates(const std::uint8_t* text, std::size_t size,
                                     const std::string& path) {
  std::vector<std::set<std::string>> open_objects;
  std::string current_tensor;
  auto on_event = [&](int depth, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
      case Json::parse_event_t::array_start:
        if (depth >= kMaxDepth) {
          fail(path, current_tensor.empty()
                         ? std::string("header nests JSON deeper than a safetensors header can")
                         : fmt::format("tensor '{}': the entry nests JSON deeper than a "
                                       "safetensors header can",
                                       current_tensor));
        }
        if (event == Json::parse_event_t::object_start) open_objects.emplace_back();
        break;
      case Json::parse_event_t::object_end:
        open_objects.pop_back();
        break;
      case Json::parse_event_t::key: {
        auto key = parsed.get<std::string>();
        if (depth == 1) current_tensor = key;
        if (!open_objects.back().insert(key).second) {
          if (depth == 1) fail(path, fmt::format("duplicate tensor name '{}'", key));
          fail_tensor(path, current_tensor, fmt::format("duplicate key '{}'", key));
        }
        break;
      }
      default:
        break;
    }
    return true;
  };
  try {
    return Json::parse(text, text + size, on_event);
  } catch (const Json::exception& error) {
    std::string_view what = error.what();
    // Drop nlohmann's "[json.exception.parse_error.101] " tag; the rest says where and why.
    if (auto close = what.find("] "); close != std::string_view::npos) {
      what.remove_prefix(close + 2);
    }
    fail(path, fmt::format("header is not valid JSON: {}", what));
  }
}

TensorInfo parse_entry(const std::string& name, const Json& entry, const std::string& path) {
  if (!entry.is_object()) fail_tensor(path, name, "the entry is not a JSON object");
  for (const auto& item : entry.items()) {
    if (item.key() != "dtype" && item.key() != "shape" && item.key() != "data_offsets") {
      fail_tensor(path, name,
                  fmt::format("unexpected key '{}' (expected dtype, shape, data_offsets)",
                              item.key()));
    }
  }
  for (const char* key : {"dtype", "shape", "data_offsets"}) {
    if (!entry.contains(key)) fail_tensor(path, name, fmt::format("missing key '{}'", key));
  }
  TensorInfo info;
  info.name = name;

  const Json& dtype = entry["dtype"];
  if (!dtype.is_string()) fail_tensor(path, name, "dtype is not a string");
  info.dtype = dtype.get<std::string>();
  const std::size_t element_bytes = safetensors_dtype_size(info.dtype);
  if (element_bytes == 0) {
    fail_tensor(path, name,
                fmt::format("unknown dtype '{}' (known: {})", info.dtype, known_dtypes()));
  }

  const Json& shape = entry["shape"];
  if (!shape.is_array()) fail_tensor(path, name, "shape is not a JSON array");
  std::uint64_t elements = 1;
  bool overflow = false;
  for (const Json& dim : shape) {
    if (!dim.is_number_unsigned()) {
      fail_tensor(path, name,
                  fmt::format("shape {} has an entry that is not a non-negative integer",
                              shape.dump()));
    }
    const auto size = dim.get<std::uint64_t>();
    if (size > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      fail_tensor(path, name, fmt::format("shape {} overflows: dimension {} does not fit int64",
                                          shape.dump(), size));
    }
    info.shape.push_back(static_cast<std::int64_t>(size));
    overflow = overflow || __builtin_mul_overflow(elements, size, &elements);
  }
  std::uint64_t bytes = 0;
  // A zero dimension makes the tensor empty whatever the others say, even if a partial
  // product of the other dimensions overflowed.
  const bool empty = std::find(info.shape.begin(), info.shape.end(), 0) != info.shape.end();
  if (!empty && (overflow ||
                 elements > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) ||
                 __builtin_mul_overflow(elements, element_bytes, &bytes))) {
    fail_tensor(path, name,
                fmt::format("shape {} overflows: its size in bytes does not fit 64 bits",
                            shape.dump()));
  }

  const Json& offsets = entry["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
      !offsets[1].is_number_unsigned()) {
    fail_tensor(path, name,
                fmt::format("data_offsets {} is not a pair of non-negative integers",
                            offsets.dump()));
  }
  info.begin = offsets[0].get<std::uint64_t>();
  info.end = offsets[1].get<std::uint64_t>();
  if (info.end < info.begin) {
    fail_tensor(path, name,
                fmt::format("data_offsets [{}, {}] end before they begin", info.begin, info.end));
  }
  if (info.end - info.begin != bytes) {
    fail_tensor(path, name,
                fmt::format("shape {} of {} needs {} bytes but data_offsets [{}, {}] span {}",
                            shape.dump(), info.dtype, bytes, info.begin, info.end,
                            info.end - info.begin));
  }
  return info;
}

void check_data_section(const std::vector<TensorInfo>& tensors, std::uint64_t data_size,
                        const std::string& path) {
  for (const TensorInfo& t : tensors) {
    if (t.end > data_size) {
      fail_tensor(path, t.name,
                  fmt::format("data_offsets [{}, {}] run past the end of the data section "
                              "({} bytes)",
                              t.begin, t.end, data_size));
    }
  }
  std::vector<const TensorInfo*> by_offset;
  by_offset.reserve(tensors.size());
  for (const TensorInfo& t : tensors) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(), [](const TensorInfo* a, const TensorInfo* b) {
    return std::tie(a->begin, a->end, a->name) < std::tie(b->begin, b->end, b->name);
  });
  std::uint64_t covered = 0;
  const TensorInfo* previous = nullptr;
  for (const TensorInfo* t : by_offset) {
    if (t->begin < covered) {
      fail_tensor(path, t->name,
                  fmt::format("data_offsets [{}, {}] overlap those of tensor '{}' [{}, {}]",
                              t->begin, t->end, previous->name, previous->begin,
                              previous->end));
    }
    if (t->begin > covered) {
      fail(path, fmt::format("bytes [{}, {}) of the data section belong to no tensor (a gap "
                             "before tensor '{}')",
                             covered, t->begin, t->name));
    }
    covered = t->end;
    previous = t;
  }
  if (covered != data_size) {
    fail(path, fmt::format("the data section has {} bytes but the tensors cover only the "
                           "first {}: bytes [{}, {}) are not covered by any tensor",
                           data_size, covered, covered, data_size));
  }
}

}  // namespace

std::size_t safetensors_dtype_size(std::string_view dtype) {
  for (const DtypeSize& d : kDtypes) {
    if (d.name == dtype) return d.bytes;
  }
  return 0;
}

SafetensorsHeader parse_safetensors_header(const std::uint8_t* file, std::uint64_t file_size,
                                           const std::string& path) {
  if (file_size < 8) {
    fail(path, fmt::format("the file has {} bytes, too few for the 8-byte header length",
                           file_size));
  }
  std::uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | file[i];
  if (header_size > kMaxSafetensorsHeaderBytes) {
    fail(path, fmt::format("header length {} exceeds the 100 MB limit", header_size));
  }
  if (header_size > file_size - 8) {
    fail(path, fmt::format("header length {} is larger than the file ({} bytes after the "
                           "8-byte length)",
                           header_size, file_size - 8));
  }
  const std::uint8_t* text = file + 8;
  if (std::size_t bad = find_invalid_utf8(text, header_size); bad != std::string_view::npos) {
    fail(path, fmt::format("header is not valid UTF-8 (byte {} of the header)", bad));
  }
  Json root = parse_json_rejecting_duplicates(text, header_size, path);
  if (!root.is_object()) fail(path, "header is not a JSON object");

  SafetensorsHeader header;
  header.data_begin = 8 + header_size;
  for (const auto& item : root.items()) {
    if (item.key() == "__metadata__") {
      if (!item.value().is_object()) fail(path, "__metadata__ is not a JSON object");
      for (const auto& entry : item.value().items()) {
        if (!entry.value().is_string()) {
          fail(path, fmt::format("__metadata__ entry '{}' is not a string", entry.key()));
        }
        header.metadata.emplace(entry.key(), entry.value().get<std::string>());
      }
      continue;
    }
    header.tensors.push_back(parse_entry(item.key(), item.value(), path));
  }
  check_data_section(header.tensors, file_size - header.data_begin, path);
  return header;
}

}  // namespace omni::detail
