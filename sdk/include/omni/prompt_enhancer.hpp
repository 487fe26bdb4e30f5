#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "omni/export.hpp"
#include "omni/image.hpp"

namespace omni {

// One rewrite request: every reference image (in order, the edited image first) and the
// user's instruction.
struct EnhanceRequest {
  std::vector<std::filesystem::path> image_paths;  // where the images came from, if files
  std::vector<Image> images;
  std::string instruction;
};

class OMNI_API PromptEnhancer {
 public:
  virtual ~PromptEnhancer();
  virtual std::string enhance(const EnhanceRequest& request) = 0;
  // Names the model (or command) and every setting that changes the answer; cache keys use it.
  virtual std::string identity() const = 0;
};

}  // namespace omni
