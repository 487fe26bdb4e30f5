#include "omni/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include <fmt/format.h>

#include "omni/error.hpp"

namespace omni {
namespace {

namespace fs = std::filesystem;

// The temporary file under construction; removed unless renamed into place.
class TemporaryFile {
 public:
  TemporaryFile(const fs::path& file, std::string_view what)
      : final_(file),
        temporary_(file.parent_path() /
                   (file.filename().string() + ".tmp-" + std::to_string(::getpid()))),
        what_(what) {
    fd_ = ::open(temporary_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) fail("cannot create");
  }
  ~TemporaryFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(temporary_.c_str());
  }
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;

  void write(const std::uint8_t* bytes, std::size_t size) {
    while (size > 0) {
      const ssize_t written = ::write(fd_, bytes, std::min<std::size_t>(size, 1u << 30));
      if (written < 0) {
        if (errno == EINTR) continue;
        fail("cannot write");
      }
      bytes += written;
      size -= static_cast<std::size_t>(written);
    }
  }

  void commit() {
    // fsync before rename: otherwise a crash can leave the new name on a file whose data
    // never reached the disk.
    if (::fsync(fd_) != 0) fail("cannot flush");
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail("cannot close");
    if (::rename(temporary_.c_str(), final_.c_str()) != 0) fail("cannot rename into place");
    committed_ = true;
    // Makes the rename itself durable; best effort, the data is already safe.
    const fs::path folder = final_.parent_path().empty() ? "." : final_.parent_path();
    const int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
      ::fsync(dir);
      ::close(dir);
    }
  }

 private:
  [[noreturn]] void fail(std::string_view action) const {
    throw Error(fmt::format("cannot save {} '{}': {} '{}': {}", what_, final_.string(), action,
                            temporary_.string(), std::strerror(errno)));
  }

  fs::path final_;
  fs::path temporary_;
  std::string what_;
  int fd_ = -1;
  bool committed_ = false;
};

}  // namespace

void write_file_atomically(const fs::path& file, const void* data, std::size_t size,
                           std::string_view what) {
  TemporaryFile out(file, what);
  out.write(static_cast<const std::uint8_t*>(data), size);
  out.commit();
}

}  // namespace omni
