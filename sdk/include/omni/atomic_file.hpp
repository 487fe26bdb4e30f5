#pragma once
// Replacing a file so that readers (and a crash) see the old file or the new one, never a
// partial one: write `<file>.tmp-<pid>` in the same folder, fsync, rename over `file`.
//
// A write that fails for lack of room (a full disk, a quota, `ulimit -f`) says so with the
// path, the bytes the file needs and the bytes the file system has free, so that a user knows
// what to free; the temporary file is removed and `file` is left as it was.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "omni/export.hpp"

namespace omni {

// A file written in pieces, then committed into place. Destroyed without commit(), it
// removes the temporary file. `what` names the kind of file in errors ("cannot save <what>
// '<file>': ..."); `expected_size` is the file's size in bytes, said when room runs out.
class OMNI_API AtomicFileWriter {
 public:
  AtomicFileWriter(std::filesystem::path file, std::string_view what, std::uint64_t expected_size);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(const void* data, std::uint64_t size);
  // fsync, close, rename over the final name, fsync the folder (best effort).
  void commit();

 private:
  [[noreturn]] void fail(std::string_view action) const;

  std::filesystem::path final_;
  std::filesystem::path temporary_;
  std::string what_;
  std::uint64_t expected_size_;
  int fd_ = -1;
  bool committed_ = false;
};

// The whole file at once.
OMNI_API void write_file_atomically(const std::filesystem::path& file, const void* data,
                                    std::size_t size, std::string_view what);

// "<N> bytes needed, <M> free on the file system of '<folder>'" (and the `ulimit -f` limit
// when one is set): what a message about a failed write for lack of room adds.
OMNI_API std::string describe_missing_room(const std::filesystem::path& file,
                                           std::uint64_t bytes_needed);

}  // namespace omni
