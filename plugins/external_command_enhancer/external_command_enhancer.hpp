#pragma once
// The `external_command` prompt enhancer: asks any program (a local VLM script, a client for
// a VLM server) to rewrite the instruction. The program is run as
//     <command...> IMAGE_1 [IMAGE_2 ...]
// (the reference images' paths, the edited image first) with the instruction on its standard
// input; its standard output is the answer (the trainer cleans chat markup and <gen> tags).
#include <chrono>
#include <string>
#include <vector>

#include "omni/config.hpp"
#include "omni/prompt_enhancer.hpp"

namespace external_command_enhancer {

struct ExternalCommandOptions {
  std::vector<std::string> command;  // argv, required
  double timeout_seconds = 300;
};

// The `prompt_enhancer` section: `command` (list of words, required), `timeout_seconds`.
ExternalCommandOptions parse_external_command_options(const omni::ConfigView& view);

class ExternalCommandEnhancer final : public omni::PromptEnhancer {
 public:
  explicit ExternalCommandEnhancer(ExternalCommandOptions options);
  std::string enhance(const omni::EnhanceRequest& request) override;
  // The command's words and, for each word naming a file (the program, its script), that
  // file's size and modification time: editing the script gives another identity.
  std::string identity() const override;

 private:
  ExternalCommandOptions options_;
};

}  // namespace external_command_enhancer
