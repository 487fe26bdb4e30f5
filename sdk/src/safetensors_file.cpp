#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "omni/error.hpp"
#include "omni/safetensors.hpp"
#include "safetensors_dtype.hpp"
#include "safetensors_header.hpp"

namespace omni {
namespace {

// A read-only private mapping of a whole file. Read-only so that dropping its pages from
// this process (release) can never lose data; writes into views fault instead.
class Mapping {
 public:
  explicit Mapping(const std::filesystem::path& file) {
    int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      throw Error(fmt::format("cannot open safetensors file '{}': {}", file.string(),
                              std::strerror(errno)));
    }
    struct stat status {};
    if (::fstat(fd, &status) != 0 || !S_ISREG(status.st_mode)) {
      const int error = errno;
      ::close(fd);
      throw Error(fmt::format("cannot open safetensors file '{}': {}", file.string(),
                              S_ISDIR(status.st_mode) ? "it is a folder"
                                                      : std::strerror(error ? error : EINVAL)));
    }
    size_ = static_cast<std::size_t>(status.st_size);
    // mmap refuses an empty range; an empty file is reported by the header parser.
    if (size_ > 0) {
      void* data = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (data == MAP_FAILED) {
        const int error = errno;
        ::close(fd);
        throw Error(fmt::format("cannot map safetensors file '{}': {}", file.string(),
                                std::strerror(error)));
      }
      data_ = static_cast<std::uint8_t*>(data);
    }
    ::close(fd);
  }
  ~Mapping() {
    if (data_ != nullptr) ::munmap(data_, size_);
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;

  std::uint8_t* data() const { return data_; }
  std::size_t size() const { return size_; }

  void release(std::uint64_t begin, std::uint64_t end) const {
    static const std::uint64_t page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    const std::uint64_t first = begin / page * page;
    const std::uint64_t last = std::min<std::uint64_t>((end + page - 1) / page * page, size_);
    if (data_ == nullptr || last <= first) return;
    // Only advice: a failure leaves the pages resident, which is harmless.
    ::madvise(data_ + first, last - first, MADV_DONTNEED);
  }

 private:
  std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

class MappedSafetensorsFile final : public SafetensorsFile {
 public:
  explicit MappedSafetensorsFile(std::filesystem::path file)
      : path_(std::move(file)), mapping_(std::make_shared<Mapping>(path_)) {
    header_ = detail::parse_safetensors_header(mapping_->data(), mapping_->size(), path_.string());
    for (std::size_t i = 0; i < header_.tensors.size(); ++i) {
      index_.emplace(header_.tensors[i].name, i);
    }
  }

  const std::filesystem::path& path() const override { return path_; }

  std::vector<std::string> names() const override {
    std::vector<std::string> out;
    out.reserve(header_.tensors.size());
    for (const TensorInfo& t : header_.tensors) out.push_back(t.name);
    return out;
  }

  bool contains(std::string_view name) const override { return index_.count(name) > 0; }

  const TensorInfo& info(std::string_view name) const override {
    auto found = index_.find(name);
    if (found == index_.end()) {
      throw Error(fmt::format("tensor '{}' is not in safetensors file '{}' ({} tensors)", name,
                              path_.string(), header_.tensors.size()));
    }
    return header_.tensors[found->second];
  }

  at::Tensor tensor(std::string_view name) const override {
    const TensorInfo& t = info(name);
    std::optional<c10::ScalarType> type = detail::torch_dtype(t.dtype);
    if (!type) {
      throw Error(fmt::format(
          "safetensors file '{}': tensor '{}': dtype {} needs LibTorch 2.1 or newer (this "
          "build uses {}.{})",
          path_.string(), t.name, t.dtype, TORCH_VERSION_MAJOR, TORCH_VERSION_MINOR));
    }
    const auto options = at::TensorOptions().dtype(*type).device(at::kCPU);
    if (t.begin == t.end) return at::empty(t.shape, options);
    std::uint8_t* data = mapping_->data() + header_.data_begin + t.begin;
    at::Tensor view = at::from_blob(
        data, t.shape, [keep_alive = mapping_](void*) {}, options);
    // Offsets are only as aligned as the writer made them; kernels may assume element
    // alignment, so a misaligned tensor (rare: other writers) gets an aligned copy.
    if (reinterpret_cast<std::uintptr_t>(data) % c10::elementSize(*type) != 0) {
      return view.clone();
    }
    return view;
  }

  const std::map<std::string, std::string>& metadata() const override {
    return header_.metadata;
  }

  void release(std::string_view name) const override {
    const TensorInfo& t = info(name);
    mapping_->release(header_.data_begin + t.begin, header_.data_begin + t.end);
  }

 private:
  std::filesystem::path path_;
  std::shared_ptr<const Mapping> mapping_;
  detail::SafetensorsHeader header_;
  std::map<std::string, std::size_t, std::less<>> index_;
};

}  // namespace

SafetensorsFile::~SafetensorsFile() = default;

void SafetensorsFile::release(std::string_view) const {}

std::shared_ptr<const SafetensorsFile> SafetensorsFile::open(const std::filesystem::path& file) {
  return std::make_shared<MappedSafetensorsFile>(file);
}

}  // namespace omni
