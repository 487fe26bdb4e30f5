#include "test_support.hpp"

#include <cstdlib>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <random>
#include <stdexcept>

#include "omni/error.hpp"
#include "omni/image_io.hpp"

namespace omni::test {

namespace {

std::filesystem::path setting(const char* variable, const char* built) {
  const char* value = std::getenv(variable);
  return value != nullptr && value[0] != '\0' ? value : built;
}

}  // namespace

std::filesystem::path fixtures_dir() {
  return setting("OMNI_TEST_FIXTURES_DIR", OMNI_FIXTURES_DIR);
}
std::filesystem::path unpacked_fixtures_dir() {
  return setting("OMNI_TEST_UNPACKED_FIXTURES_DIR", OMNI_UNPACKED_FIXTURES_DIR);
}
std::filesystem::path source_dir() { return setting("OMNI_TEST_SOURCE_DIR", OMNI_SOURCE_DIR); }
std::filesystem::path host_exe() { return setting("OMNI_TEST_HOST_EXE", OMNI_HOST_EXE); }
std::filesystem::path plugin_dir() { return setting("OMNI_TEST_PLUGIN_DIR", OMNI_PLUGIN_DIR); }
std::filesystem::path test_plugin_dir() {
  return setting("OMNI_TEST_TEST_PLUGIN_DIR", OMNI_TEST_PLUGIN_DIR);
}

TempDir::TempDir() {
  std::random_device random;
  path_ = std::filesystem::temp_directory_path() /
          ("omni-test-" + std::to_string(random()) + std::to_string(random()));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  // OMNI_KEEP_TEST_FILES=1 leaves the folders behind for a look after a failure.
  if (std::getenv("OMNI_KEEP_TEST_FILES") != nullptr) return;
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::filesystem::path TempDir::write(const std::string& name, const std::string& content) const {
  std::filesystem::path file = path_ / name;
  std::filesystem::create_directories(file.parent_path());
  std::ofstream(file, std::ios::binary) << content;
  return file;
}

CommandResult run_shell(const std::string& command) {
  CommandResult result;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("popen failed: " + command);
  std::array<char, 4096> buffer{};
  std::size_t count = 0;
  while ((count = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) {
    result.output.append(buffer.data(), count);
  }
  int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

CommandResult run_host(const std::string& arguments) {
  // An empty OMNI_PLUGIN_PATH keeps a user's environment out of the tests.
  return run_shell("env -u OMNI_PLUGIN_PATH " + quote(omni::test::host_exe().string()) + " " + arguments);
}

std::string quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

void write_noise_png(const std::filesystem::path& file, int width, int height, unsigned seed) {
  omni::Image image;
  image.width = width;
  image.height = height;
  image.channels = 3;
  std::mt19937 random(seed);
  image.pixels.resize(static_cast<std::size_t>(width) * height * 3);
  for (auto& value : image.pixels) value = static_cast<std::uint8_t>(random() & 0xff);
  std::filesystem::create_directories(file.parent_path());
  omni::write_png(file, image);
}

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const omni::Error& error) {
    return error.what();
  }
  return "<no error>";
}

std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace omni::test
