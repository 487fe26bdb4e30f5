#include "json_file.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "omni/error.hpp"

namespace omni::detail {

nlohmann::json read_json_file(const std::filesystem::path& file, std::string_view what) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    throw Error(fmt::format("cannot read {} '{}': {}", what, file.string(),
                            std::strerror(errno)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  try {
    return nlohmann::json::parse(text.str());
  } catch (const nlohmann::json::exception& error) {
    std::string_view message = error.what();
    // nlohmann's "[json.exception.parse_error.101] " tag means nothing to a user.
    if (auto close = message.find("] "); close != std::string_view::npos) {
      message.remove_prefix(close + 2);
    }
    throw Error(fmt::format("{} '{}' is not valid JSON: {}", what, file.string(), message));
  }
}

}  // namespace omni::detail
