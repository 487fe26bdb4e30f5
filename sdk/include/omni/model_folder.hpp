#pragma once
// Hugging Face diffusers folders: `model_index.json` plus one subfolder per component
// (`transformer/`, `vae/`, ...), each with its `config.json`. Opened by local path or by repo
// id (`org/name`) through the local Hugging Face cache. Nothing is ever downloaded.
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "omni/export.hpp"

namespace omni {

// The hub cache folder: $HF_HUB_CACHE, else $HF_HOME/hub, else
// $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub.
OMNI_API std::filesystem::path hf_hub_cache();

// Whether `text` has the form of a repo id (`org/name`), as opposed to a path.
OMNI_API bool looks_like_repo_id(const std::string& text);

// The snapshot folder of `repo_id` at `revision` (a branch or tag through
// `models--org--name/refs/<revision>`, or a commit hash naming `snapshots/<hash>` directly).
// Throws omni::Error saying where it looked and that `hf download <repo_id>` would fetch it.
OMNI_API std::filesystem::path resolve_hf_snapshot(const std::string& repo_id,
                                                   const std::string& revision = "main");

class OMNI_API ModelFolder {
 public:
  // `name_or_path`: an existing local folder, or else a repo id looked up in the cache.
  // `subfolder` selects a folder inside it (a pipeline inside a larger repo, or one model
  // such as "transformer"). The folder must hold model_index.json or config.json.
  static ModelFolder open(const std::string& name_or_path, const std::string& revision = "main",
                          const std::string& subfolder = "");

  const std::filesystem::path& root() const { return root_; }
  // What was asked for and where it was found, for messages.
  const std::string& description() const { return description_; }
  // The components model_index.json lists (entries [library, class] with a library; sorted).
  // Empty for a single-model folder.
  const std::vector<std::string>& components() const { return components_; }
  bool has_component(const std::string& name) const;
  // The component's folder; throws naming the components there are when it is not listed,
  // or when model_index.json lists it but its folder is missing.
  std::filesystem::path component(const std::string& name) const;
  // The component's config.json (scheduler_config.json for schedulers,
  // tokenizer_config.json for tokenizers); "" is the folder's own config.json.
  nlohmann::json config(const std::string& component) const;
  nlohmann::json model_index() const;  // throws for a single-model folder

 private:
  std::filesystem::path root_;
  std::string description_;
  std::vector<std::string> components_;
  bool has_model_index_ = false;
};

}  // namespace omni
