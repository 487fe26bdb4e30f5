#include "data/dataset_files.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "omni/error.hpp"
#include "omni/utf8.hpp"

namespace flux_kontext::detail {

namespace fs = std::filesystem;

std::string lower_extension(const fs::path& file) {
  std::string extension = file.extension().string();
  if (!extension.empty()) extension.erase(0, 1);
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return extension;
}

bool is_decodable_image(const fs::path& file) {
  const std::string extension = lower_extension(file);
  return extension == "png" || extension == "jpg" || extension == "jpeg";
}

bool is_undecodable_image(const fs::path& file) {
  static const char* const kOthers[] = {"webp", "bmp", "gif", "tif", "tiff", "heic", "avif"};
  const std::string extension = lower_extension(file);
  return std::find(std::begin(kOthers), std::end(kOthers), extension) != std::end(kOthers);
}

std::string decodable_image_list() { return "png, jpg or jpeg"; }

void require_decodable(const fs::path& file, std::string_view what) {
  if (is_decodable_image(file)) return;
  throw omni::Error(
      fmt::format("{}: '{}' is not an image this program can read; images must "
                  "be {} (convert other formats first)",
                  what, file.string(), decodable_image_list()));
}

std::string clean_prompt(std::string text, std::string_view source) {
  if (text.compare(0, 3, "\xef\xbb\xbf") == 0) text.erase(0, 3);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  if (auto bad = omni::first_invalid_utf8(text)) {
    throw omni::Error(
        fmt::format("{}: the prompt is not valid UTF-8 (byte {}); save it as "
                    "UTF-8",
                    source, *bad));
  }
  return text;
}

std::string read_prompt_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    throw omni::Error(
        fmt::format("cannot read prompt file '{}': {}", file.string(), std::strerror(errno)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return clean_prompt(text.str(), fmt::format("prompt file '{}'", file.string()));
}

}  // namespace flux_kontext::detail
