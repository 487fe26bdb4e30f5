#include "omni/atomic_file.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "omni/error.hpp"

namespace omni {

namespace fs = std::filesystem;

std::string describe_missing_room(const fs::path& file, std::uint64_t bytes_needed) {
  const fs::path folder = file.parent_path().empty() ? fs::path(".") : file.parent_path();
  std::string text = fmt::format("{} bytes needed", bytes_needed);
  struct statvfs space {};
  if (::statvfs(folder.c_str(), &space) == 0) {
    text += fmt::format(", {} free on the file system of '{}'",
                        static_cast<std::uint64_t>(space.f_bavail) * space.f_frsize, folder.string());
  }
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_FSIZE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    text += fmt::format(", and files are limited to {} bytes (ulimit -f)",
                        static_cast<std::uint64_t>(limit.rlim_cur));
  }
  return text;
}

AtomicFileWriter::AtomicFileWriter(fs::path file, std::string_view what, std::uint64_t expected_size)
    : final_(std::move(file)),
      temporary_(final_.parent_path() /
                 (final_.filename().string() + ".tmp-" + std::to_string(::getpid()))),
      what_(what),
      expected_size_(expected_size) {
  fd_ = ::open(temporary_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) fail("cannot create");
}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temporary_.c_str());
}

void AtomicFileWriter::write(const void* data, std::uint64_t size) {
  const auto* bytes = static_cast<const std::uint8_t*>(data);
  while (size > 0) {
    // Linux writes at most ~2 GiB per call; partial writes and EINTR just continue.
    const ssize_t written = ::write(fd_, bytes, std::min<std::uint64_t>(size, 1u << 30));
    if (written < 0) {
      if (errno == EINTR) continue;
      fail("cannot write");
    }
    bytes += written;
    size -= static_cast<std::uint64_t>(written);
  }
}

void AtomicFileWriter::commit() {
  // fsync before rename: otherwise a crash can leave the new name on a file whose data never
  // reached the disk.
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

void AtomicFileWriter::fail(std::string_view action) const {
  const int error = errno;
  if (error == ENOSPC || error == EDQUOT || error == EFBIG) {
    throw Error(fmt::format("cannot save {} '{}': no room for it ({}): {}", what_, final_.string(),
                            std::strerror(error), describe_missing_room(final_, expected_size_)));
  }
  throw Error(fmt::format("cannot save {} '{}': {} '{}': {}", what_, final_.string(), action,
                          temporary_.string(), std::strerror(error)));
}

void write_file_atomically(const fs::path& file, const void* data, std::size_t size,
                           std::string_view what) {
  AtomicFileWriter out(file, what, size);
  out.write(data, size);
  out.commit();
}

}  // namespace omni
