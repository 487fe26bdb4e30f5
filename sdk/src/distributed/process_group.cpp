// What every process group shares: gradient buckets, and the group of a lone process.
#include <map>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "omni/distributed.hpp"
#include "omni/error.hpp"

namespace omni {

ProcessGroup::~ProcessGroup() = default;

void ProcessGroup::finish() {}

void ProcessGroup::all_reduce_sum_in_buckets(const std::vector<at::Tensor>& tensors,
                                             std::size_t bucket_bytes) {
  if (!is_distributed()) return;
  // Tensors of one dtype and device, in order, go into flat buckets of about bucket_bytes:
  // few collectives (each has a fixed cost) without one copy of everything at once.
  std::map<std::pair<int, std::string>, std::vector<at::Tensor>> groups;
  std::vector<std::pair<int, std::string>> order;
  for (const at::Tensor& tensor : tensors) {
    if (!tensor.defined()) {
      throw Error("distributed: a tensor to sum across ranks is undefined (a gradient that "
                  "this rank never computed must be zeros on every rank)");
    }
    std::pair<int, std::string> key{static_cast<int>(tensor.scalar_type()), tensor.device().str()};
    if (groups.find(key) == groups.end()) order.push_back(key);
    groups[key].push_back(tensor);
  }
  auto reduce_bucket = [&](const std::vector<at::Tensor>& bucket) {
    std::vector<at::Tensor> flat_parts;
    for (const at::Tensor& tensor : bucket) flat_parts.push_back(tensor.reshape({-1}));
    at::Tensor flat = at::cat(flat_parts);
    all_reduce_sum(flat);
    std::int64_t offset = 0;
    for (const at::Tensor& tensor : bucket) {
      at::Tensor target = tensor;  // shares storage: the copy writes into the caller's tensor
      target.copy_(flat.narrow(0, offset, tensor.numel()).view(tensor.sizes()));
      offset += tensor.numel();
    }
  };
  for (const auto& key : order) {
    std::vector<at::Tensor> bucket;
    std::size_t bytes = 0;
    for (const at::Tensor& tensor : groups[key]) {
      const std::size_t size = static_cast<std::size_t>(tensor.numel()) * tensor.element_size();
      if (!bucket.empty() && bytes + size > bucket_bytes) {
        reduce_bucket(bucket);
        bucket.clear();
        bytes = 0;
      }
      bucket.push_back(tensor);
      bytes += size;
    }
    if (!bucket.empty()) reduce_bucket(bucket);
  }
}

namespace {

class SingleProcessGroup final : public ProcessGroup {
 public:
  int rank() const override { return 0; }
  int world_size() const override { return 1; }
  void all_reduce_sum(at::Tensor&) override {}
  void broadcast(at::Tensor&, int) override {}
  std::string share_from_main(std::string_view, const std::string& text) override { return text; }
  void barrier(std::string_view) override {}
  void main_rank_first(std::string_view, const std::function<void()>& work) override { work(); }
};

}  // namespace

ProcessGroup& single_process_group() {
  static SingleProcessGroup group;
  return group;
}

}  // namespace omni
