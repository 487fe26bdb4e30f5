#include "omni/weight_loading.hpp"

#include <map>
#include <regex>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/nn/module.h>

#include "omni/error.hpp"

namespace omni {
namespace {

constexpr std::size_t kListedPerKind = 20;

std::vector<std::regex> compile(const std::vector<std::string>& patterns, std::string_view what) {
  std::vector<std::regex> out;
  for (const std::string& pattern : patterns) {
    try {
      out.emplace_back(pattern);
    } catch (const std::regex_error& error) {
      throw Error(fmt::format("weight loading: {} pattern '{}' is not a valid regular "
                              "expression: {}",
                              what, pattern, error.what()));
    }
  }
  return out;
}

bool any_match(const std::vector<std::regex>& patterns, const std::string& name) {
  for (const std::regex& pattern : patterns) {
    if (std::regex_match(name, pattern)) return true;
  }
  return false;
}

void append_list(std::string& message, std::string_view title,
                 const std::vector<std::string>& lines) {
  if (lines.empty()) return;
  message += fmt::format("\n  {} ({}):", title, lines.size());
  for (std::size_t i = 0; i < lines.size() && i < kListedPerKind; ++i) {
    message += "\n    " + lines[i];
  }
  if (lines.size() > kListedPerKind) {
    message += fmt::format("\n    ... and {} more", lines.size() - kListedPerKind);
  }
}

}  // namespace

WeightLoadReport load_weights(torch::nn::Module& module, const TensorSource& source,
                              const WeightLoadOptions& options) {
  const std::vector<std::regex> allow_missing = compile(options.allow_missing, "allow_missing");
  const std::vector<std::regex> allow_unexpected =
      compile(options.allow_unexpected, "allow_unexpected");

  std::map<std::string, at::Tensor> targets;
  for (const auto& item : module.named_parameters(true)) targets.emplace(item.key(), item.value());
  for (const auto& item : module.named_buffers(true)) targets.emplace(item.key(), item.value());

  WeightLoadReport report;
  std::map<std::string, std::string> checkpoint_of;  // module name -> checkpoint name
  std::vector<std::string> unexpected, missing, wrong_shape;
  for (const std::string& checkpoint_name : source.names()) {
    const std::string renamed = options.rename ? options.rename(checkpoint_name) : checkpoint_name;
    const bool prefixed = renamed.compare(0, options.prefix.size(), options.prefix) == 0;
    const std::string module_name = prefixed ? renamed.substr(options.prefix.size()) : "";
    if (!prefixed || targets.count(module_name) == 0) {
      // Patterns may be written against either name; both are what a user sees.
      if (any_match(allow_unexpected, checkpoint_name) || any_match(allow_unexpected, renamed)) {
        report.unexpected_ignored.push_back(checkpoint_name);
      } else {
        const TensorInfo& info = source.info(checkpoint_name);
        unexpected.push_back(fmt::format("{} {} {}", checkpoint_name, info.shape, info.dtype));
      }
      continue;
    }
    auto [existing, inserted] = checkpoint_of.emplace(module_name, checkpoint_name);
    if (!inserted) {
      throw Error(fmt::format("cannot load {}: checkpoint tensors '{}' and '{}' both map to "
                              "module tensor '{}'",
                              source.description(), existing->second, checkpoint_name,
                              module_name));
    }
  }
  for (const auto& [name, target] : targets) {
    auto found = checkpoint_of.find(name);
    if (found == checkpoint_of.end()) {
      if (any_match(allow_missing, name)) {
        report.missing_allowed.push_back(name);
      } else {
        missing.push_back(fmt::format("{}{} {}", options.prefix, name, target.sizes()));
      }
      continue;
    }
    const TensorInfo& info = source.info(found->second);
    if (info.shape != target.sizes().vec()) {
      wrong_shape.push_back(fmt::format("{}: the module expects {}, the checkpoint has {}",
                                        found->second, target.sizes(), info.shape));
    }
  }
  if (!missing.empty() || !unexpected.empty() || !wrong_shape.empty()) {
    // Everything is checked before anything is copied, so a failed load leaves the module
    // as it was, and one message lists every problem at once.
    std::string message = fmt::format(
        "cannot load weights from {}: {} missing, {} unexpected, {} with the wrong shape",
        source.description(), missing.size(), unexpected.size(), wrong_shape.size());
    append_list(message, "missing from the checkpoint", missing);
    append_list(message, "unexpected in the checkpoint", unexpected);
    append_list(message, "wrong shape", wrong_shape);
    if (!missing.empty() || !unexpected.empty()) {
      message += "\n  (tensors that may be absent or extra can be allowed by name patterns)";
    }
    throw Error(message);
  }

  torch::NoGradGuard no_grad;
  for (const auto& [name, checkpoint_name] : checkpoint_of) {
    at::Tensor& target = targets.at(name);
    at::Tensor stored = source.tensor(checkpoint_name);
    const c10::ScalarType type = options.dtype && stored.is_floating_point()
                                     ? *options.dtype
                                     : stored.scalar_type();
    if (target.scalar_type() == type && target.device() == options.device) {
      target.copy_(stored);
    } else {
      // A new tensor of the wanted dtype and device replaces the old one, which is freed
      // here, tensor by tensor; copy=true so the module never aliases the file's mapping.
      target.set_data(stored.to(options.device, type, /*non_blocking=*/false, /*copy=*/true));
    }
    stored.reset();
    source.release(checkpoint_name);
    report.loaded.push_back(name);
  }
  return report;
}

}  // namespace omni
