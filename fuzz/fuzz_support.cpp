#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "fuzz_targets.hpp"

namespace fs = std::filesystem;

namespace omni::fuzz {

void require(bool holds, const std::string& what) {
  if (!holds) throw InvariantBroken(what);
}

std::vector<std::string_view> split_parts(const std::uint8_t* data, std::size_t size) {
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> parts;
  std::size_t begin = 0;
  for (std::size_t at = all.find(kPartSeparator); at != std::string_view::npos;
       at = all.find(kPartSeparator, begin)) {
    parts.push_back(all.substr(begin, at - begin));
    begin = at + kPartSeparator.size();
  }
  parts.push_back(all.substr(begin));
  return parts;
}

const fs::path& fresh_scratch_folder() {
  // In memory where the machine has /dev/shm: a fuzzer writes files thousands of times a second.
  static const fs::path folder = [] {
    const char* base = fs::is_directory("/dev/shm") ? "/dev/shm" : nullptr;
    fs::path root = base != nullptr ? fs::path(base) : fs::temp_directory_path();
    return root / ("omnihost-fuzz-" + std::to_string(::getpid()));
  }();
  static const bool removed_at_exit = [] {
    std::atexit([] {
      std::error_code ignored;
      fs::remove_all(folder, ignored);
    });
    return true;
  }();
  (void)removed_at_exit;
  fs::remove_all(folder);
  fs::create_directories(folder);
  return folder;
}

void write_file(const fs::path& file, std::string_view bytes) {
  std::ofstream out(file, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("fuzz: cannot write " + file.string());
}

}  // namespace omni::fuzz
