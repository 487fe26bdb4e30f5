#pragma once
// How the trainers talk to a prompt enhancer (a VLM that rewrites an editing instruction
// after looking at the reference images): what it is asked, and how its answer is read.
//
// DreamOmni2's VLM was tuned on instructions ending in " It is editing task." (or
// " It is generation task.") and answers with the rewritten prompt inside <gen>...</gen>,
// sometimes with chat markup around it. The suffix is `model.prompt_enhancer_suffix`.
#include <filesystem>
#include <string>
#include <vector>

#include "omni/prompt_enhancer.hpp"

namespace flux_kontext {

// The rewritten prompt out of an enhancer's raw answer: chat markup (`<|im_start|>assistant`,
// `<|im_end|>`, any other `<|...|>` token) removed, the text inside <gen>...</gen> when the
// wrapper is there (an unclosed <gen> runs to the end), surrounding whitespace trimmed.
std::string clean_enhancer_answer(const std::string& answer);

struct EnhancedPrompt {
  std::string original;
  std::string rewritten;  // what the text encoders see
};

// Shows the enhancer every image in `images` (in order: the edited image first) and
// `instruction + task_suffix`, and cleans its answer. An answer that is empty after cleaning
// keeps the original instruction (with a warning naming `what`), so one bad generation does
// not stop a long cache run.
EnhancedPrompt enhance_prompt(omni::PromptEnhancer& enhancer,
                              const std::string& instruction,
                              const std::vector<std::filesystem::path>& images,
                              const std::string& task_suffix,
                              const std::string& what);

}  // namespace flux_kontext
