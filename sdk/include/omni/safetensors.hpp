#pragma once
// safetensors files: memory-mapped, validated reading; atomic writing.
// Format: 8-byte little-endian header length N, N bytes of UTF-8 JSON
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {str: str}}, then the
// data section, which the tensors' byte ranges must cover exactly, without overlap.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

#include "omni/export.hpp"
#include "omni/tensor_info.hpp"

namespace omni {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

// One .safetensors file, mapped read-only. Tensors handed out view the mapping (no copy);
// the mapping stays alive as long as this object or any such tensor does. The views are
// read-only memory: clone() (or convert) before writing into them in place.
class OMNI_API SafetensorsFile {
 public:
  // Validates the whole header; throws omni::Error naming the file (and tensor) on any defect.
  static std::shared_ptr<const SafetensorsFile> open(const std::filesystem::path& file);
  virtual ~SafetensorsFile();

  virtual const std::filesystem::path& path() const = 0;
  virtual std::vector<std::string> names() const = 0;  // sorted
  virtual bool contains(std::string_view name) const = 0;
  virtual const TensorInfo& info(std::string_view name) const = 0;  // throws on a miss
  // A CPU tensor viewing the mapping. Throws when the dtype has no LibTorch equivalent here.
  virtual at::Tensor tensor(std::string_view name) const = 0;
  virtual const std::map<std::string, std::string>& metadata() const = 0;
  // Says that tensor `name` has been copied out: its pages leave this process's resident
  // memory (they stay in the page cache, and existing views re-read them on access), so
  // loading a large checkpoint does not keep the whole file resident. Does nothing by default.
  virtual void release(std::string_view name) const;
};

// A checkpoint that may span several files: a single .safetensors file, a sharded
// checkpoint's `*.safetensors.index.json` (`weight_map`), or a model folder holding either.
class OMNI_API TensorSource {
 public:
  static std::shared_ptr<const TensorSource> open(const std::filesystem::path& file_or_folder);
  virtual ~TensorSource();

  virtual std::string description() const = 0;  // the path(s), for messages
  virtual std::vector<std::string> names() const = 0;  // sorted
  virtual bool contains(std::string_view name) const = 0;
  virtual const TensorInfo& info(std::string_view name) const = 0;
  virtual at::Tensor tensor(std::string_view name) const = 0;
  virtual std::map<std::string, std::string> metadata() const = 0;  // of the first shard
  virtual void release(std::string_view name) const;  // see SafetensorsFile::release
};

// Writes `tensors` (any device and layout; written contiguous, little-endian) with string
// metadata. Atomic: writes `<file>.tmp-<pid>` in the same folder, flushes, fsyncs, renames,
// so a crash never leaves a truncated file under the final name.
OMNI_API void save_safetensors(const std::filesystem::path& file, const NamedTensors& tensors,
                               const std::map<std::string, std::string>& metadata = {});

}  // namespace omni
