#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <regex>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "omni/error.hpp"
#include "omni/model_folder.hpp"

namespace omni {
namespace {

namespace fs = std::filesystem;

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

// Which setting chose the cache folder, so a "not found" message can say why it looked there.
std::pair<fs::path, std::string> hub_cache_and_reason() {
  if (std::string value = environment("HF_HUB_CACHE"); !value.empty()) {
    return {value, "from HF_HUB_CACHE"};
  }
  if (std::string value = environment("HF_HOME"); !value.empty()) {
    return {fs::path(value) / "hub", "from HF_HOME"};
  }
  if (std::string value = environment("XDG_CACHE_HOME"); !value.empty()) {
    return {fs::path(value) / "huggingface" / "hub", "from XDG_CACHE_HOME"};
  }
  return {fs::path(environment("HOME")) / ".cache" / "huggingface" / "hub",
          "the default; HF_HUB_CACHE and HF_HOME are unset"};
}

std::string read_ref(const fs::path& file) {
  std::ifstream in(file);
  std::string hash;
  in >> hash;
  return hash;
}

// What the cache holds for a repo, for the message when the revision asked for is missing.
std::vector<std::string> cached_revisions(const fs::path& repo_folder) {
  std::vector<std::string> out;
  std::error_code error;
  const fs::path refs = repo_folder / "refs";
  for (auto it = fs::recursive_directory_iterator(refs, error);
       !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (it->is_regular_file()) {
      out.push_back(fmt::format("{} ({})", fs::relative(it->path(), refs).string(),
                                read_ref(it->path())));
    }
  }
  for (auto it = fs::directory_iterator(repo_folder / "snapshots", error);
       !error && it != fs::directory_iterator(); it.increment(error)) {
    out.push_back("snapshot " + it->path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool is_safe_relative(const std::string& text) {
  const fs::path path(text);
  if (text.empty() || path.is_absolute()) return false;
  for (const fs::path& part : path) {
    if (part == "..") return false;
  }
  return true;
}

}  // namespace

fs::path hf_hub_cache() { return hub_cache_and_reason().first; }

bool looks_like_repo_id(const std::string& text) {
  static const std::regex repo_id(R"([A-Za-z0-9][A-Za-z0-9_.\-]*/[A-Za-z0-9_.\-]+)");
  return std::regex_match(text, repo_id) && text.find("..") == std::string::npos;
}

fs::path resolve_hf_snapshot(const std::string& repo_id, const std::string& revision) {
  if (!looks_like_repo_id(repo_id)) {
    throw Error(fmt::format("'{}' is not a Hugging Face repo id (expected org/name)", repo_id));
  }
  if (!is_safe_relative(revision)) {
    throw Error(fmt::format("'{}' is not a valid revision of {}", revision, repo_id));
  }
  const auto [hub, reason] = hub_cache_and_reason();
  std::string folder_name = "models--" + repo_id;
  folder_name.replace(folder_name.find('/'), 1, "--");
  const fs::path repo_folder = hub / folder_name;
  const std::string fetch = fmt::format("hf download {}{}", repo_id,
                                        revision == "main" ? "" : " --revision " + revision);
  if (!fs::is_directory(repo_folder)) {
    throw Error(fmt::format("model '{}' is not in the Hugging Face cache: looked for '{}' (cache "
                            "folder {}); nothing is downloaded here, `{}` would fetch it",
                            repo_id, repo_folder.string(), reason, fetch));
  }
  const fs::path ref = repo_folder / "refs" / revision;
  if (fs::is_regular_file(ref)) {
    const std::string hash = read_ref(ref);
    const fs::path snapshot = repo_folder / "snapshots" / hash;
    if (hash.empty() || !is_safe_relative(hash) || !fs::is_directory(snapshot)) {
      throw Error(fmt::format("model '{}' revision '{}': '{}' points to snapshot '{}', which is "
                              "not in the cache; `{}` would fetch it",
                              repo_id, revision, ref.string(), hash, fetch));
    }
    return snapshot;
  }
  const fs::path snapshot = repo_folder / "snapshots" / revision;
  if (fs::is_directory(snapshot)) return snapshot;
  const std::vector<std::string> present = cached_revisions(repo_folder);
  throw Error(fmt::format("model '{}' revision '{}' is not in the Hugging Face cache: neither "
                          "'{}' nor '{}' exists (cached: {}); `{}` would fetch it",
                          repo_id, revision, ref.string(), snapshot.string(),
                          present.empty() ? "nothing" : fmt::format("{}", fmt::join(present, ", ")),
                          fetch));
}

}  // namespace omni
