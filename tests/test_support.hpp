#pragma once
// Small helpers shared by the test files.
#include <filesystem>
#include <functional>
#include <string>

namespace omni::test {

// Where the tests find what they use. Each is the build's own path unless its environment
// variable names another: scripts/gpu-check.sh runs a prebuilt test binary away from the
// build tree that way.
std::filesystem::path fixtures_dir();           // OMNI_TEST_FIXTURES_DIR: tests/fixtures
std::filesystem::path unpacked_fixtures_dir();  // OMNI_TEST_UNPACKED_FIXTURES_DIR
std::filesystem::path source_dir();             // OMNI_TEST_SOURCE_DIR: the repository
std::filesystem::path host_exe();               // OMNI_TEST_HOST_EXE: omnihost
std::filesystem::path plugin_dir();             // OMNI_TEST_PLUGIN_DIR: the product's plugins
std::filesystem::path test_plugin_dir();        // OMNI_TEST_TEST_PLUGIN_DIR: the test plugins

// A fresh temporary folder, removed with its contents when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path write(const std::string& name, const std::string& content) const;

 private:
  std::filesystem::path path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs a shell command line; never throws on a non-zero exit.
CommandResult run_shell(const std::string& command);

// Runs the omnihost executable of this build with `arguments` (already shell-quoted).
CommandResult run_host(const std::string& arguments);

std::string quote(const std::string& text);

// What `action` throws as omni::Error, or "<no error>" when it throws nothing.
std::string error_of(const std::function<void()>& action);

// A file's whole content, byte for byte ("" when it cannot be read).
std::string read_file(const std::filesystem::path& file);

// Writes a PNG of seeded random RGB pixels (creating its folder).
void write_noise_png(const std::filesystem::path& file, int width, int height, unsigned seed);

}  // namespace omni::test
