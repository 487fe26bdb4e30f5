#include "omni/json_config.hpp"

#include "json_file.hpp"

namespace omni {

JsonConfig JsonConfig::read(const std::filesystem::path& file) {
  return JsonConfig(detail::read_json_file(file, "config"), file);
}

}  // namespace omni
