#pragma once
// A private folder under the system's temporary directory (mkdtemp), removed with everything
// in it when the object dies.
#include <filesystem>
#include <string_view>

#include "omni/export.hpp"

namespace omni {

class OMNI_API TemporaryFolder {
 public:
  // Creates `<tmp>/<prefix>-XXXXXX`; throws omni::Error when it cannot.
  explicit TemporaryFolder(std::string_view prefix);
  ~TemporaryFolder();
  TemporaryFolder(const TemporaryFolder&) = delete;
  TemporaryFolder& operator=(const TemporaryFolder&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace omni
