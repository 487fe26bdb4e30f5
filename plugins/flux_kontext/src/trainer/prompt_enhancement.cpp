#include "flux_kontext/trainer/prompt_enhancement.hpp"

#include <fmt/format.h>

#include "omni/image_io.hpp"

namespace flux_kontext {
namespace {

std::string trim(const std::string& text) {
  const char* space = " \t\r\n";
  const std::size_t first = text.find_first_not_of(space);
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(space) - first + 1);
}

// Removes every `<|...|>` special token, and a role word right after `<|im_start|>`.
std::string strip_chat_markup(const std::string& text) {
  std::string out;
  std::size_t position = 0;
  while (position < text.size()) {
    const std::size_t open = text.find("<|", position);
    if (open == std::string::npos) {
      out += text.substr(position);
      break;
    }
    const std::size_t close = text.find("|>", open + 2);
    if (close == std::string::npos) {
      out += text.substr(position);
      break;
    }
    out += text.substr(position, open - position);
    const std::string token = text.substr(open, close + 2 - open);
    position = close + 2;
    if (token == "<|im_start|>") {
      for (const char* role : {"assistant", "user", "system"}) {
        const std::string word = role;
        if (text.compare(position, word.size(), word) == 0) {
          position += word.size();
          break;
        }
      }
    }
  }
  return out;
}

}  // namespace

std::string clean_enhancer_answer(const std::string& answer) {
  std::string text = strip_chat_markup(answer);
  const std::size_t open = text.find("<gen>");
  if (open != std::string::npos) {
    const std::size_t start = open + 5;
    const std::size_t close = text.find("</gen>", start);
    text = text.substr(start, close == std::string::npos ? std::string::npos : close - start);
  }
  return trim(text);
}

EnhancedPrompt enhance_prompt(omni::PromptEnhancer& enhancer, const std::string& instruction,
                              const std::vector<std::filesystem::path>& images,
                              const std::string& task_suffix, const std::string& what) {
  omni::EnhanceRequest request;
  request.instruction = instruction + task_suffix;
  for (const auto& file : images) {
    request.image_paths.push_back(file);
    request.images.push_back(omni::read_image(file));
  }
  EnhancedPrompt result{instruction, clean_enhancer_answer(enhancer.enhance(request))};
  if (result.rewritten.empty()) {
    fmt::print("warning: {}: the prompt enhancer's answer was empty; keeping the original "
               "prompt\n", what);
    result.rewritten = instruction;
  }
  return result;
}

}  // namespace flux_kontext
