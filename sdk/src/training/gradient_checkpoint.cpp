#include "omni/training/gradient_checkpoint.hpp"

#include <mutex>
#include <optional>

#include <ATen/ATen.h>
#include <torch/utils.h>
#include <ATen/core/ivalue.h>
#include <torch/autograd.h>
#include <torch/custom_class.h>

#include "omni/error.hpp"

namespace omni {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The random-generator states the block saw in forward, to replay in backward.
class RngSnapshot {
 public:
  explicit RngSnapshot(const std::vector<at::Tensor>& inputs) {
    cpu_ = capture(at::globalContext().defaultGenerator(c10::Device(c10::kCPU)));
    for (const at::Tensor& input : inputs) {
      if (input.defined() && input.is_cuda()) {
        device_ = input.device();
        accelerator_ = capture(at::globalContext().defaultGenerator(*device_));
        break;
      }
    }
  }

  // Installs the snapshot; the destructor of the returned guard puts the current states back.
  class Replay {
   public:
    explicit Replay(const RngSnapshot& snapshot) : snapshot_(snapshot) {
      cpu_ = capture(cpu_generator());
      install(cpu_generator(), snapshot.cpu_);
      if (snapshot.device_) {
        accelerator_ = capture(accelerator_generator());
        install(accelerator_generator(), snapshot.accelerator_);
      }
    }
    ~Replay() {
      install(cpu_generator(), cpu_);
      if (snapshot_.device_) install(accelerator_generator(), accelerator_);
    }
    Replay(const Replay&) = delete;
    Replay& operator=(const Replay&) = delete;

   private:
    static at::Generator cpu_generator() {
      return at::globalContext().defaultGenerator(c10::Device(c10::kCPU));
    }
    at::Generator accelerator_generator() const {
      return at::globalContext().defaultGenerator(*snapshot_.device_);
    }
    const RngSnapshot& snapshot_;
    at::Tensor cpu_, accelerator_;
  };

 private:
  static at::Tensor capture(at::Generator generator) {
    std::lock_guard<std::mutex> lock(generator.mutex());
    return generator.get_state();
  }
  static void install(at::Generator generator, const at::Tensor& state) {
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(state);
  }

  at::Tensor cpu_, accelerator_;
  std::optional<c10::Device> device_;
};

// What backward needs besides the saved tensors; carried through the autograd context as
// an IValue capsule, the one slot there that holds arbitrary C++ objects.
struct Recompute : torch::CustomClassHolder {
  BlockFunction block;
  std::size_t input_count = 0;
  std::vector<at::Tensor> parameters;
  std::optional<RngSnapshot> rng;
};

class CheckpointFunction : public torch::autograd::Function<CheckpointFunction> {
 public:
  // `tensors`: the block inputs, then the parameters.
  static variable_list forward(AutogradContext* ctx, c10::IValue capsule, at::TensorList tensors) {
    auto recompute = c10::static_intrusive_pointer_cast<Recompute>(capsule.toCapsule());
    const std::vector<at::Tensor> inputs(tensors.begin(),
                                         tensors.begin() + static_cast<long>(recompute->input_count));
    recompute->rng.emplace(inputs);
    ctx->saved_data["recompute"] = capsule;
    ctx->save_for_backward(inputs);
    torch::NoGradGuard no_grad;
    return recompute->block(inputs);
  }

  static variable_list backward(AutogradContext* ctx, variable_list output_grads) {
    auto recompute =
        c10::static_intrusive_pointer_cast<Recompute>(ctx->saved_data["recompute"].toCapsule());
    const variable_list saved = ctx->get_saved_variables();
    std::vector<at::Tensor> inputs;
    std::vector<at::Tensor> wrt;
    std::vector<std::size_t> input_slot;  // position of each input in `wrt`, or npos
    for (const at::Tensor& input : saved) {
      if (input.defined() && input.requires_grad()) {
        inputs.push_back(input.detach().requires_grad_(true));
        input_slot.push_back(wrt.size());
        wrt.push_back(inputs.back());
      } else {
        inputs.push_back(input.defined() ? input.detach() : input);
        input_slot.push_back(std::string::npos);
      }
    }
    // The parameters are the tensors the block reads directly, so the recomputed graph
    // reaches them as they are (leaves); their gradients go back through this function's
    // edges, and the engine accumulates them into .grad.
    const auto& parameters = recompute->parameters;
    wrt.insert(wrt.end(), parameters.begin(), parameters.end());

    variable_list outputs;
    {
      RngSnapshot::Replay replay(*recompute->rng);
      torch::AutoGradMode enable_grad(true);
      outputs = recompute->block(inputs);
    }
    variable_list roots, root_grads;
    for (std::size_t i = 0; i < outputs.size(); ++i) {
      if (!outputs[i].requires_grad()) continue;
      roots.push_back(outputs[i]);
      root_grads.push_back(i < output_grads.size() && output_grads[i].defined()
                               ? output_grads[i]
                               : at::zeros_like(outputs[i]));
    }
    variable_list grads(1 + saved.size() + parameters.size());  // [capsule, inputs, params]
    if (roots.empty() || wrt.empty()) return grads;
    const variable_list computed = torch::autograd::grad(roots, wrt, root_grads,
                                                         /*retain_graph=*/false,
                                                         /*create_graph=*/false,
                                                         /*allow_unused=*/true);
    for (std::size_t i = 0; i < saved.size(); ++i) {
      if (input_slot[i] != std::string::npos) grads[1 + i] = computed[input_slot[i]];
    }
    const std::size_t first_parameter = wrt.size() - parameters.size();
    for (std::size_t i = 0; i < parameters.size(); ++i) {
      grads[1 + saved.size() + i] = computed[first_parameter + i];
    }
    return grads;
  }
};

}  // namespace

std::vector<at::Tensor> checkpointed(BlockFunction block, const std::vector<at::Tensor>& inputs,
                                     const std::vector<at::Tensor>& parameters) {
  auto recompute = c10::make_intrusive<Recompute>();
  recompute->block = std::move(block);
  recompute->input_count = inputs.size();
  for (const at::Tensor& parameter : parameters) {
    if (!parameter.requires_grad()) {
      throw Error("checkpointed: every parameter passed must require grad");
    }
  }
  recompute->parameters = parameters;
  std::vector<at::Tensor> tensors = inputs;
  tensors.insert(tensors.end(), parameters.begin(), parameters.end());
  return CheckpointFunction::apply(c10::IValue::make_capsule(recompute), at::TensorList(tensors));
}

}  // namespace omni
