#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "json_file.hpp"
#include "omni/error.hpp"
#include "omni/safetensors.hpp"

namespace omni {
namespace {

namespace fs = std::filesystem;

// The names diffusers and transformers give a model's weights, in the order they are tried.
constexpr const char* kCheckpointNames[] = {
    "diffusion_pytorch_model.safetensors",
    "model.safetensors",
    "diffusion_pytorch_model.safetensors.index.json",
    "model.safetensors.index.json",
};

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

class SingleFileSource final : public TensorSource {
 public:
  explicit SingleFileSource(std::shared_ptr<const SafetensorsFile> file)
      : file_(std::move(file)) {}

  std::string description() const override { return "'" + file_->path().string() + "'"; }
  std::vector<std::string> names() const override { return file_->names(); }
  bool contains(std::string_view name) const override { return file_->contains(name); }
  const TensorInfo& info(std::string_view name) const override { return file_->info(name); }
  at::Tensor tensor(std::string_view name) const override { return file_->tensor(name); }
  std::map<std::string, std::string> metadata() const override { return file_->metadata(); }
  void release(std::string_view name) const override { file_->release(name); }

 private:
  std::shared_ptr<const SafetensorsFile> file_;
};

// A checkpoint split over several files; `weight_map` in the index says which file holds
// which tensor, and every shard's tensors must be exactly the ones assigned to it.
class ShardedSource final : public TensorSource {
 public:
  explicit ShardedSource(fs::path index) : index_(std::move(index)) {
    const nlohmann::json json = detail::read_json_file(index_, "sharded checkpoint index");
    if (!json.is_object() || !json.contains("weight_map") || !json["weight_map"].is_object()) {
      throw Error(fmt::format("sharded checkpoint index '{}' has no \"weight_map\" object",
                              index_.string()));
    }
    const nlohmann::json& weight_map = json["weight_map"];
    if (weight_map.empty()) {
      throw Error(fmt::format("sharded checkpoint index '{}' has an empty \"weight_map\"",
                              index_.string()));
    }
    std::map<std::string, std::string> assigned;  // tensor name -> shard file name
    for (const auto& item : weight_map.items()) {
      if (!item.value().is_string()) {
        throw Error(fmt::format("sharded checkpoint index '{}': weight_map entry '{}' is not "
                                "a file name",
                                index_.string(), item.key()));
      }
      const std::string file = item.value().get<std::string>();
      const fs::path relative(file);
      if (relative.empty() || relative.is_absolute() ||
          std::any_of(relative.begin(), relative.end(),
                      [](const fs::path& part) { return part == ".."; })) {
        throw Error(fmt::format("sharded checkpoint index '{}': weight_map entry '{}' names "
                                "'{}', which is not a file inside the index's folder",
                                index_.string(), item.key(), file));
      }
      if (shards_.count(file) == 0) {
        shards_.emplace(file, SafetensorsFile::open(index_.parent_path() / relative));
      }
      assigned.emplace(item.key(), file);
    }
    for (const auto& [name, file] : assigned) {
      const auto& shard = shards_.at(file);
      if (!shard->contains(name)) {
        throw Error(fmt::format("sharded checkpoint index '{}' puts tensor '{}' in '{}', "
                                "which has no such tensor",
                                index_.string(), name, shard->path().string()));
      }
      tensors_.emplace(name, shard);
    }
    for (const auto& [file, shard] : shards_) {
      for (const std::string& name : shard->names()) {
        auto found = assigned.find(name);
        if (found == assigned.end() || found->second != file) {
          throw Error(fmt::format("shard '{}' holds tensor '{}', which the weight_map of '{}' "
                                  "{}",
                                  shard->path().string(), name, index_.string(),
                                  found == assigned.end()
                                      ? std::string("does not list")
                                      : "assigns to '" + found->second + "'"));
        }
      }
    }
  }

  std::string description() const override {
    return fmt::format("'{}' ({} shards)", index_.string(), shards_.size());
  }

  std::vector<std::string> names() const override {
    std::vector<std::string> out;
    out.reserve(tensors_.size());
    for (const auto& entry : tensors_) out.push_back(entry.first);
    return out;
  }

  bool contains(std::string_view name) const override { return tensors_.count(name) > 0; }
  const TensorInfo& info(std::string_view name) const override {
    return shard(name).info(name);
  }
  at::Tensor tensor(std::string_view name) const override { return shard(name).tensor(name); }
  std::map<std::string, std::string> metadata() const override {
    return shards_.begin()->second->metadata();
  }
  void release(std::string_view name) const override { shard(name).release(name); }

 private:
  const SafetensorsFile& shard(std::string_view name) const {
    auto found = tensors_.find(name);
    if (found == tensors_.end()) {
      throw Error(fmt::format("tensor '{}' is not in sharded checkpoint {}", name,
                              description()));
    }
    return *found->second;
  }

  fs::path index_;
  std::map<std::string, std::shared_ptr<const SafetensorsFile>> shards_;  // by file name
  std::map<std::string, std::shared_ptr<const SafetensorsFile>, std::less<>> tensors_;
};

fs::path find_checkpoint(const fs::path& folder) {
  for (const char* name : kCheckpointNames) {
    if (fs::is_regular_file(folder / name)) return folder / name;
  }
  // Other names (variants such as *.fp16.safetensors, LoRA files) are taken when unambiguous.
  std::vector<std::string> indexes, files;
  for (const auto& entry : fs::directory_iterator(folder)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_regular_file()) continue;
    if (ends_with(name, ".safetensors.index.json")) indexes.push_back(name);
    if (ends_with(name, ".safetensors")) files.push_back(name);
  }
  std::sort(indexes.begin(), indexes.end());
  std::sort(files.begin(), files.end());
  if (indexes.size() == 1) return folder / indexes.front();
  if (indexes.empty() && files.size() == 1) return folder / files.front();
  if (indexes.empty() && files.empty()) {
    throw Error(fmt::format("folder '{}' holds no safetensors checkpoint (looked for {} and "
                            "any other *.safetensors or *.safetensors.index.json)",
                            folder.string(), fmt::join(kCheckpointNames, ", ")));
  }
  throw Error(fmt::format("folder '{}' holds several safetensors checkpoints ({}); name the "
                          "file to use",
                          folder.string(), fmt::join(indexes.empty() ? files : indexes, ", ")));
}

}  // namespace

TensorSource::~TensorSource() = default;

void TensorSource::release(std::string_view) const {}

std::shared_ptr<const TensorSource> TensorSource::open(const fs::path& file_or_folder) {
  std::error_code error;
  const fs::file_status status = fs::status(file_or_folder, error);
  if (!fs::exists(status)) {
    throw Error(fmt::format("checkpoint '{}' does not exist", file_or_folder.string()));
  }
  const fs::path file =
      fs::is_directory(status) ? find_checkpoint(file_or_folder) : file_or_folder;
  if (ends_with(file.filename().string(), ".index.json")) {
    return std::make_shared<ShardedSource>(file);
  }
  return std::make_shared<SingleFileSource>(SafetensorsFile::open(file));
}

}  // namespace omni
