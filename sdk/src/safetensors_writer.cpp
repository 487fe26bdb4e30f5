#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "omni/atomic_file.hpp"
#include "omni/error.hpp"
#include "omni/safetensors.hpp"
#include "safetensors_dtype.hpp"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "safetensors stores little-endian data; a big-endian host would need byte swaps");

namespace omni {
namespace {

namespace fs = std::filesystem;

struct Entry {
  const std::string* name;
  const at::Tensor* tensor;
  std::string_view dtype;
  std::size_t element_bytes;
  std::uint64_t bytes;
};

std::vector<Entry> check_tensors(const fs::path& file, const NamedTensors& tensors) {
  std::vector<Entry> entries;
  std::set<std::string_view> seen;
  auto fail = [&](const std::string& name, std::string_view what) {
    throw Error(fmt::format("cannot save safetensors file '{}': tensor '{}': {}", file.string(),
                            name, what));
  };
  for (const auto& [name, tensor] : tensors) {
    if (name == "__metadata__") fail(name, "the name is reserved for the metadata");
    if (!seen.insert(name).second) fail(name, "the name appears twice");
    if (!tensor.defined()) fail(name, "the tensor is undefined");
    if (tensor.layout() != at::kStrided) fail(name, "only dense (strided) tensors can be saved");
    std::optional<std::string_view> dtype = detail::safetensors_dtype(tensor.scalar_type());
    if (!dtype) {
      fail(name, fmt::format("dtype {} has no safetensors equivalent here",
                             c10::toString(tensor.scalar_type())));
    }
    const std::size_t element_bytes = tensor.element_size();
    entries.push_back({&name, &tensor, *dtype, element_bytes,
                       static_cast<std::uint64_t>(tensor.numel()) * element_bytes});
  }
  // Widest elements first, as the Python library does: with the data section starting on an
  // 8-byte boundary, every tensor then starts aligned to its element size.
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.element_bytes != b.element_bytes ? a.element_bytes > b.element_bytes
                                              : *a.name < *b.name;
  });
  return entries;
}

std::string make_header(const fs::path& file, const std::vector<Entry>& entries,
                        const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::uint64_t offset = 0;
  for (const Entry& entry : entries) {
    header[*entry.name] = {{"dtype", std::string(entry.dtype)},
                           {"shape", entry.tensor->sizes().vec()},
                           {"data_offsets", {offset, offset + entry.bytes}}};
    offset += entry.bytes;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception&) {
    throw Error(fmt::format("cannot save safetensors file '{}': a tensor name or metadata "
                            "string is not valid UTF-8",
                            file.string()));
  }
  // Space padding to a multiple of 8 bytes, as the Python library writes it.
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

}  // namespace

void save_safetensors(const fs::path& file, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata) {
  const std::vector<Entry> entries = check_tensors(file, tensors);
  const std::string header = make_header(file, entries, metadata);

  std::uint64_t total = sizeof(std::uint64_t) + header.size();
  for (const Entry& entry : entries) total += entry.bytes;
  AtomicFileWriter out(file, "safetensors file", total);
  std::uint8_t length[8];
  for (int i = 0; i < 8; ++i) length[i] = static_cast<std::uint8_t>(header.size() >> (8 * i));
  out.write(length, sizeof(length));
  out.write(header.data(), header.size());
  for (const Entry& entry : entries) {
    if (entry.bytes == 0) continue;
    // One tensor at a time, so saving GPU tensors never holds a second full copy on the host.
    const at::Tensor data = entry.tensor->detach().to(at::kCPU).contiguous();
    out.write(data.data_ptr(), entry.bytes);
  }
  out.commit();
}

}  // namespace omni
