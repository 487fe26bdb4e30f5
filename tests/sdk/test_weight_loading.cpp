// Strict loading into modules: lookup by name, every problem reported at once, allowed
// absences, prefixes and renames, and dtype conversion tensor by tensor.
#include <functional>

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/linear.h>

#include "omni/error.hpp"
#include "omni/safetensors.hpp"
#include "omni/weight_loading.hpp"
#include "test_support.hpp"

#include "test_checks.hpp"

namespace fs = std::filesystem;

namespace {

using omni::test::error_of;

struct Block : torch::nn::Module {
  Block() {
    fc = register_module("fc", torch::nn::Linear(4, 3));
    norm = register_module("norm", torch::nn::BatchNorm1d(3));
  }
  torch::nn::Linear fc{nullptr};
  torch::nn::BatchNorm1d norm{nullptr};
};

// Tensors: embed, block.fc.{weight,bias}, block.norm.{weight,bias,running_mean,running_var,
// num_batches_tracked (int64)}.
struct Net : torch::nn::Module {
  Net() {
    embed = register_parameter("embed", torch::zeros({5, 4}));
    block = register_module("block", std::make_shared<Block>());
  }
  torch::Tensor embed;
  std::shared_ptr<Block> block;
};

omni::NamedTensors state_of(torch::nn::Module& module, const std::string& prefix = "") {
  omni::NamedTensors out;
  for (const auto& item : module.named_parameters()) out.emplace_back(prefix + item.key(), item.value());
  for (const auto& item : module.named_buffers()) out.emplace_back(prefix + item.key(), item.value());
  return out;
}

// A Net with distinct values everywhere, saved to `file` (optionally as another dtype).
Net saved_net(const fs::path& file, std::optional<at::ScalarType> as = std::nullopt,
              const std::string& prefix = "") {
  Net net;
  torch::NoGradGuard no_grad;
  for (auto& item : state_of(net)) {
    if (item.second.is_floating_point()) item.second.uniform_(-1, 1);
  }
  net.block->norm->num_batches_tracked.fill_(42);
  omni::NamedTensors state = state_of(net, prefix);
  if (as) {
    for (auto& item : state) {
      if (item.second.is_floating_point()) item.second = item.second.to(*as);
    }
  }
  omni::save_safetensors(file, state);
  return net;
}

void check_same_values(Net& a, Net& b) {
  auto left = state_of(a), right = state_of(b);
  REQUIRE(left.size() == right.size());
  for (std::size_t i = 0; i < left.size(); ++i) {
    CAPTURE(left[i].first);
    CHECK(at::allclose(left[i].second.to(at::kDouble), right[i].second.to(at::kDouble), 1e-2,
                       1e-2));
  }
}

}  // namespace

TEST_SUITE("weight_loading") {
  TEST_CASE("parameters and buffers load by name, copied out of the mapping") {
    omni::test::TempDir dir;
    Net saved = saved_net(dir.path() / "net.safetensors");
    Net fresh;
    auto source = omni::TensorSource::open(dir.path() / "net.safetensors");
    const omni::WeightLoadReport report = omni::load_weights(fresh, *source);
    CHECK(report.loaded.size() == 8);
    CHECK(report.missing_allowed.empty());
    CHECK(report.unexpected_ignored.empty());
    check_same_values(saved, fresh);
    CHECK(fresh.block->norm->num_batches_tracked.item<std::int64_t>() == 42);
    CHECK(fresh.embed.requires_grad());
    // The mapping is read-only: writing works only because loading copied.
    torch::NoGradGuard no_grad;
    fresh.embed.add_(1);
    CHECK(at::allclose(fresh.embed, saved.embed + 1));
  }

  TEST_CASE("floating-point tensors convert to the requested dtype, the others keep theirs") {
    omni::test::TempDir dir;
    Net saved = saved_net(dir.path() / "net.safetensors");
    Net fresh;
    omni::WeightLoadOptions options;
    options.dtype = at::kBFloat16;
    omni::load_weights(fresh, *omni::TensorSource::open(dir.path() / "net.safetensors"), options);
    CHECK((fresh.embed.scalar_type() == at::kBFloat16));
    CHECK((fresh.block->fc->weight.scalar_type() == at::kBFloat16));
    CHECK((fresh.block->norm->num_batches_tracked.scalar_type() == at::kLong));
    check_same_values(saved, fresh);

    // Without a requested dtype, the module takes the file's.
    Net half_saved = saved_net(dir.path() / "half.safetensors", at::kHalf);
    Net other;
    omni::load_weights(other, *omni::TensorSource::open(dir.path() / "half.safetensors"));
    CHECK((other.block->fc->bias.scalar_type() == at::kHalf));
    check_same_values(half_saved, other);
  }

  TEST_CASE("missing, unexpected and wrong-shape tensors are reported together") {
    omni::test::TempDir dir;
    Net net;
    omni::NamedTensors state;
    for (auto& item : state_of(net)) {
      if (item.first == "embed" || item.first == "block.norm.running_var") continue;  // missing
      if (item.first == "block.fc.weight") item.second = at::zeros({3, 5});  // wrong shape
      state.push_back(item);
    }
    state.emplace_back("extra.weight", at::zeros({2, 2}));
    omni::save_safetensors(dir.path() / "bad.safetensors", state);
    auto source = omni::TensorSource::open(dir.path() / "bad.safetensors");

    Net target;
    const at::Tensor before = target.block->fc->bias.clone();
    const std::string message = error_of([&] { omni::load_weights(target, *source); });
    CHECK_HAS(message, "bad.safetensors");
    CHECK_HAS(message, "2 missing, 1 unexpected, 1 with the wrong shape");
    CHECK_HAS(message, "embed [5, 4]");
    CHECK_HAS(message, "block.norm.running_var [3]");
    CHECK_HAS(message, "extra.weight [2, 2] F32");
    CHECK_HAS(message, "block.fc.weight: the module expects [3, 4], the checkpoint has [3, 5]");
    // Nothing was copied.
    CHECK(at::equal(target.block->fc->bias, before));

    SUBCASE("allowed by patterns, the rest loads") {
      state.erase(std::remove_if(state.begin(), state.end(),
                                 [](auto& item) { return item.first == "block.fc.weight"; }),
                  state.end());
      omni::save_safetensors(dir.path() / "ok.safetensors", state);
      omni::WeightLoadOptions options;
      options.allow_missing = {"embed", "block\\.(fc\\.weight|norm\\.running_.*)"};
      options.allow_unexpected = {"extra\\..*"};
      const auto report =
          omni::load_weights(target, *omni::TensorSource::open(dir.path() / "ok.safetensors"),
                             options);
      CHECK(report.missing_allowed ==
            std::vector<std::string>{"block.fc.weight", "block.norm.running_var", "embed"});
      CHECK(report.unexpected_ignored == std::vector<std::string>{"extra.weight"});
      CHECK(report.loaded.size() == 5);
    }
    SUBCASE("patterns match whole names only") {
      omni::WeightLoadOptions options;
      options.allow_missing = {"emb"};
      CHECK_HAS(error_of([&] { omni::load_weights(target, *source, options); }), "embed [5, 4]");
      options.allow_missing = {"(unclosed"};
      CHECK_HAS(error_of([&] { omni::load_weights(target, *source, options); }),
                "allow_missing pattern '(unclosed' is not a valid regular expression");
    }
  }

  TEST_CASE("long lists stop after 20 names") {
    struct Wide : torch::nn::Module {
      Wide() {
        for (int i = 0; i < 25; ++i) register_parameter("p" + std::to_string(i), torch::zeros({1}));
      }
    } wide;
    omni::test::TempDir dir;
    omni::save_safetensors(dir.path() / "one.safetensors", {{"p0", at::ones({1})}});
    const std::string message = error_of(
        [&] { omni::load_weights(wide, *omni::TensorSource::open(dir.path() / "one.safetensors")); });
    CHECK_HAS(message, "24 missing");
    CHECK_HAS(message, "... and 4 more");
  }

  TEST_CASE("a prefix and a rename map checkpoint names onto module names") {
    omni::test::TempDir dir;
    Net saved = saved_net(dir.path() / "prefixed.safetensors", std::nullopt, "model.");
    Net fresh;
    omni::WeightLoadOptions options;
    options.prefix = "model.";
    omni::load_weights(fresh, *omni::TensorSource::open(dir.path() / "prefixed.safetensors"),
                       options);
    check_same_values(saved, fresh);

    // BFL-style names renamed to the module's.
    omni::NamedTensors renamed;
    for (auto& item : state_of(saved)) {
      std::string name = item.first;
      if (name == "embed") name = "tok_embeddings";
      renamed.emplace_back(name, item.second);
    }
    omni::save_safetensors(dir.path() / "renamed.safetensors", renamed);
    Net third;
    options.prefix.clear();
    options.rename = [](const std::string& name) {
      return name == "tok_embeddings" ? std::string("embed") : name;
    };
    omni::load_weights(third, *omni::TensorSource::open(dir.path() / "renamed.safetensors"),
                       options);
    check_same_values(saved, third);

    options.rename = [](const std::string& name) {
      return name.rfind("block.norm.running", 0) == 0 ? std::string("embed") : name;
    };
    CHECK_HAS(error_of([&] {
                omni::load_weights(third,
                                   *omni::TensorSource::open(dir.path() / "renamed.safetensors"),
                                   options);
              }),
              "both map to module tensor 'embed'");
  }
}
