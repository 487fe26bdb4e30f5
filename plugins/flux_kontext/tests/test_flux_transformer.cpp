// The Flux transformer against the numbers diffusers computed on the tiny fixture model
// (../shared/fixtures/flux/flux_transformer_cases.safetensors): outputs, input and weight
// gradients, the same through `omnihost debug flux-forward`; gradient checkpointing; bf16;
// BFL single-file checkpoints; and the errors bad inputs must give before any compute.

#include <fstream>
#include <functional>
#include <map>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>
#include <torch/autograd.h>

#include "flux_kontext/model/bfl_checkpoint.hpp"
#include "flux_kontext/model/flux_packing.hpp"
#include "flux_kontext/model/flux_transformer.hpp"
#include "omni/training/gradient_checkpoint.hpp"
#include "omni/error.hpp"
#include "omni/safetensors.hpp"
#include "test_checks.hpp"
#include "test_device.hpp"
#include "test_support.hpp"
#include "bfl_test_files.hpp"

namespace fs = std::filesystem;
using namespace flux_kontext;

namespace {

using omni::test::error_of;
using flux_test::diffusers_to_bfl;

const fs::path kFixtures = omni::test::fixtures_dir() / "flux";
const fs::path kTransformer = kFixtures / "tiny-flux-kontext" / "transformer";
const fs::path kCases = kFixtures / "flux_transformer_cases.safetensors";
constexpr std::int64_t kTargetTokens = 6;

double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kFloat).cpu() - b.to(at::kFloat).cpu()).abs().max().item<double>();
}

// max |a - b| / max |b|: the gradients' "relative" error, robust to entries near zero.
double relative_diff(const at::Tensor& a, const at::Tensor& reference) {
  return max_abs_diff(a, reference) / reference.abs().max().item<double>();
}

struct Cases {
  std::shared_ptr<const omni::TensorSource> file = omni::TensorSource::open(kCases);
  at::Tensor get(const std::string& name) const { return file->tensor(name).clone(); }
  FluxTransformerInputs inputs(const std::string& tag,
                               const c10::Device& device = c10::Device(c10::kCPU)) const {
    FluxTransformerInputs in;
    in.hidden_states = get(tag + ".hidden_states").to(device);
    in.img_ids = get(tag + ".img_ids").to(device);
    in.encoder_hidden_states = get("encoder_hidden_states").to(device);
    in.pooled_projections = get("pooled_projections").to(device);
    in.timestep = get("timestep").to(device);
    in.guidance = get("guidance").to(device);
    in.txt_ids = get("txt_ids").to(device);
    return in;
  }
};

FluxTransformer2DModel load_on_test_device(const fs::path& folder,
                                           c10::ScalarType dtype = at::kFloat) {
  FluxTransformerLoadOptions options;
  options.dtype = dtype;
  options.device = omni::test::test_device();
  return load_flux_transformer(folder, options);
}

at::Tensor target_loss(const at::Tensor& output) {
  return output.narrow(1, 0, kTargetTokens).pow(2).mean();
}

// Copies the fixture's transformer folder, with `edit` applied to its config.json.
fs::path edited_folder(const omni::test::TempDir& dir,
                       const std::function<void(nlohmann::json&)>& edit) {
  nlohmann::json config;
  std::ifstream(kTransformer / "config.json") >> config;
  edit(config);
  dir.write("transformer/config.json", config.dump(2));
  fs::copy_file(kTransformer / "diffusion_pytorch_model.safetensors",
                dir.path() / "transformer" / "diffusion_pytorch_model.safetensors");
  return dir.path() / "transformer";
}


void check_same_parameters(const FluxTransformer2DModelImpl& a, const FluxTransformer2DModelImpl& b) {
  const auto pa = a.named_parameters();
  const auto pb = b.named_parameters();
  REQUIRE(pa.size() == pb.size());
  for (const auto& item : pa) {
    const at::Tensor* other = pb.find(item.key());
    REQUIRE_MESSAGE(other != nullptr, item.key());
    CHECK_MESSAGE(at::equal(item.value(), *other), item.key());
  }
}

}  // namespace

TEST_SUITE("flux_transformer") {
  TEST_CASE("the fixture folder loads by name lookup, every tensor used") {
    const FluxTransformerConfig config = FluxTransformerConfig::from_folder(kTransformer);
    CHECK(config.inner_dim() == 32);
    CHECK(config.out_channels == 64);  // null in config.json
    CHECK(config.axes_dims_rope == std::vector<std::int64_t>{4, 6, 6});
    FluxTransformer2DModel model = load_flux_transformer(kTransformer);
    const auto source = omni::TensorSource::open(kTransformer);
    CHECK(model->named_parameters().size() == source->names().size());
    CHECK(model->named_parameters().contains("transformer_blocks.0.attn.to_out.0.weight"));
    CHECK(model->named_parameters().contains("single_transformer_blocks.2.proj_mlp.bias"));
  }

  // Runs on OMNI_TEST_DEVICE (scripts/gpu-check.sh: cuda).
  TEST_CASE("outputs and gradients match diffusers for both position-id layouts") {
    const Cases cases;
    FluxTransformer2DModel model = load_on_test_device(kTransformer);
    for (const std::string tag : {"kontext", "dreamomni2"}) {
      CAPTURE(tag);
      model->zero_grad();
      FluxTransformerInputs in = cases.inputs(tag, omni::test::test_device());
      in.hidden_states.requires_grad_(true);
      const at::Tensor output = model->forward(in);
      CHECK(max_abs_diff(output, cases.get(tag + ".output")) < 1e-4);
      const at::Tensor loss = target_loss(output);
      CHECK(std::abs(loss.item<double>() - cases.get(tag + ".loss").item<double>()) < 1e-5);
      loss.backward();
      CHECK(relative_diff(in.hidden_states.grad(), cases.get(tag + ".grad_hidden_states")) < 1e-3);
      if (tag == "dreamomni2") {
        const auto parameters = model->named_parameters();
        for (const std::string name : {"transformer_blocks.0.attn.to_q.weight",
                                       "single_transformer_blocks.0.proj_out.weight"}) {
          CAPTURE(name);
          const at::Tensor* weight = parameters.find(name);
          REQUIRE(weight != nullptr);
          CHECK(relative_diff(weight->grad(), cases.get(tag + ".grad." + name)) < 1e-3);
        }
      }
    }
  }

  TEST_CASE("omnihost debug flux-forward reproduces the fixture outputs") {
    const Cases cases;
    omni::test::TempDir dir;
    for (const std::string tag : {"kontext", "dreamomni2"}) {
      CAPTURE(tag);
      const fs::path out = dir.path() / (tag + ".safetensors");
      const omni::test::CommandResult result = omni::test::run_host(
          "debug flux-forward --transformer " + omni::test::quote(kTransformer.string()) +
          " --cases " + omni::test::quote(kCases.string()) + " --tag " + tag + " --out " +
          omni::test::quote(out.string()));
      REQUIRE_MESSAGE(result.exit_code == 0, result.output);
      CHECK_HAS(result.output, "wrote " + tag + ".output");
      const auto written = omni::TensorSource::open(out);
      CHECK(max_abs_diff(written->tensor(tag + ".output"), cases.get(tag + ".output")) < 1e-4);
    }
    const omni::test::CommandResult missing = omni::test::run_host(
        "debug flux-forward --transformer " + omni::test::quote(kTransformer.string()) +
        " --cases " + omni::test::quote(kCases.string()) + " --tag nosuchtag --out " +
        omni::test::quote((dir.path() / "x.safetensors").string()));
    CHECK(missing.exit_code != 0);
    CHECK_HAS(missing.output, "nosuchtag.hidden_states");
    const omni::test::CommandResult no_out = omni::test::run_host(
        "debug flux-forward --transformer " + omni::test::quote(kTransformer.string()));
    CHECK(no_out.exit_code != 0);
    CHECK_HAS(no_out.output, "--cases is required");
  }

  TEST_CASE("gradient checkpointing gives the gradients of the plain backward") {
    const Cases cases;
    FluxTransformer2DModel model = load_flux_transformer(kTransformer);
    // LoRA adapters with dropout: parameter gradients must reach them through the
    // recomputation, and the recomputation must replay the same dropout masks.
    for (const auto& item : model->named_modules()) {
      auto* linear = item.value()->as<omni::LoraLinearImpl>();
      const std::string& name = item.key();
      if (linear != nullptr && (name.find("attn.to_q") != std::string::npos ||
                                name.find("attn.to_out.0") != std::string::npos)) {
        linear->attach_lora(4, 4.0, omni::LoraInit::normal, /*dropout=*/0.25);
      }
    }
    model->train();
    const auto run = [&](bool checkpointing) {
      model->set_gradient_checkpointing(checkpointing);
      model->zero_grad();
      FluxTransformerInputs in = cases.inputs("dreamomni2");
      in.hidden_states.requires_grad_(true);
      at::manual_seed(7);
      target_loss(model->forward(in)).backward();
      std::map<std::string, at::Tensor> grads{{"hidden_states", in.hidden_states.grad()}};
      for (const auto& item : model->named_parameters()) {
        if (item.value().grad().defined()) grads[item.key()] = item.value().grad().clone();
      }
      return grads;
    };
    const auto plain = run(false);
    const auto checkpointed_grads = run(true);
    REQUIRE(plain.size() == checkpointed_grads.size());
    CHECK(plain.count("transformer_blocks.1.attn.to_q.lora_A.weight") == 1);
    for (const auto& [name, grad] : plain) {
      CAPTURE(name);
      REQUIRE(checkpointed_grads.count(name) == 1);
      CHECK(max_abs_diff(grad, checkpointed_grads.at(name)) <= 1e-6 * (1 + grad.abs().max().item<double>()));
    }
    // Without grad mode the switch has no effect (inference).
    torch::NoGradGuard no_grad;
    CHECK(!model->forward(cases.inputs("kontext")).requires_grad());
  }

  TEST_CASE("checkpointed() differentiates inputs and parameters of an arbitrary block") {
    const at::Tensor weight = at::randn({3, 3}).requires_grad_(true);
    const at::Tensor x = at::randn({2, 3}).requires_grad_(true);
    const at::Tensor constant = at::randn({2, 3});
    const omni::BlockFunction block = [&](const std::vector<at::Tensor>& in) {
      return std::vector<at::Tensor>{at::tanh(at::matmul(in[0], weight)) * in[1], in[0].sin()};
    };
    const std::vector<at::Tensor> plain = block({x, constant});
    (plain[0].sum() + plain[1].pow(2).sum()).backward();
    const at::Tensor gx = x.grad().clone(), gw = weight.grad().clone();
    x.grad().zero_();
    weight.grad().zero_();
    const std::vector<at::Tensor> out = omni::checkpointed(block, {x, constant}, {weight});
    CHECK(out[0].requires_grad());
    (out[0].sum() + out[1].pow(2).sum()).backward();
    CHECK(at::allclose(x.grad(), gx));
    CHECK(at::allclose(weight.grad(), gw));
  }

  // Runs on OMNI_TEST_DEVICE (scripts/gpu-check.sh: cuda).
  TEST_CASE("bf16 weights stay close to fp32") {
    const Cases cases;
    torch::NoGradGuard no_grad;
    FluxTransformer2DModel fp32 = load_on_test_device(kTransformer);
    FluxTransformer2DModel bf16 = load_on_test_device(kTransformer, at::kBFloat16);
    CHECK((bf16->dtype() == at::kBFloat16));
    const at::Tensor reference = fp32->forward(cases.inputs("kontext", omni::test::test_device()));
    const at::Tensor low = bf16->forward(cases.inputs("kontext", omni::test::test_device()));
    CHECK((low.scalar_type() == at::kBFloat16));
    // bf16 keeps 8 mantissa bits (relative step 2^-8 = 0.004); after 5 blocks the error is a
    // few steps of the output's scale (measured: 1.1 %). Stated tolerance: 3 % of max |output|.
    const double scale = reference.abs().max().item<double>();
    MESSAGE("bf16 vs fp32: max |diff| " << max_abs_diff(low, reference) << ", max |fp32| " << scale);
    CHECK(max_abs_diff(low, reference) < 0.03 * scale);
  }

  TEST_CASE("a BFL single-file checkpoint loads into the same module") {
    const FluxTransformerConfig config = FluxTransformerConfig::from_folder(kTransformer);
    const auto diffusers = omni::TensorSource::open(kTransformer);
    FluxTransformer2DModel reference = load_flux_transformer(kTransformer);
    omni::test::TempDir dir;
    for (const std::string prefix : {"", "model.diffusion_model."}) {
      CAPTURE(prefix);
      const fs::path file = dir.path() / "flux1-tiny.safetensors";
      omni::save_safetensors(file, diffusers_to_bfl(*diffusers, config, prefix));
      const auto bfl = omni::TensorSource::open(file);
      REQUIRE(bfl_prefix(*bfl) == prefix);
      CHECK(bfl->contains(prefix + "double_blocks.0.img_attn.qkv.weight"));
      FluxTransformer2DModel model(config);
      load_flux_transformer_weights(*model, bfl, {});
      check_same_parameters(*model, *reference);
      // Without a config.json the config comes from the shapes; RoPE axes are not stored, so
      // a head size other than FLUX.1's 128 is refused with a clear message.
      CHECK_HAS(error_of([&] { load_flux_transformer(file); }), "RoPE axes");
    }
    // The real shape: every size is recovered from the tensors' shapes alone.
    FluxTransformerConfig full = FluxTransformerConfig::flux1_dev();
    full.num_layers = 1;
    full.num_single_layers = 1;
    full.in_channels = 8;
    full.joint_attention_dim = 8;
    full.pooled_projection_dim = 8;
    full.num_attention_heads = 1;
    full.out_channels = 8;
    {
      FluxTransformer2DModel model(full);
      omni::NamedTensors tensors;
      for (const auto& item : model->named_parameters()) tensors.emplace_back(item.key(), item.value().detach());
      omni::save_safetensors(dir.path() / "diffusers_full.safetensors", tensors);
      const auto source = omni::TensorSource::open(dir.path() / "diffusers_full.safetensors");
      omni::save_safetensors(dir.path() / "bfl_full.safetensors", diffusers_to_bfl(*source, full, ""));
    }
    const FluxTransformerConfig inferred =
        config_from_bfl(*omni::TensorSource::open(dir.path() / "bfl_full.safetensors"));
    CHECK(inferred.num_layers == 1);
    CHECK(inferred.num_single_layers == 1);
    CHECK(inferred.inner_dim() == 128);
    CHECK(inferred.in_channels == 8);
    CHECK(inferred.joint_attention_dim == 8);
    CHECK(inferred.pooled_projection_dim == 8);
    CHECK(inferred.guidance_embeds);
    CHECK(inferred.axes_dims_rope == std::vector<std::int64_t>{16, 56, 56});
    CHECK(load_flux_transformer(dir.path() / "bfl_full.safetensors")->config().num_attention_heads == 1);
  }

  TEST_CASE("bad configs, checkpoints and inputs fail clearly before any compute") {
    omni::test::TempDir dir;
    SUBCASE("a missing key") {
      const fs::path folder = edited_folder(dir, [](nlohmann::json& c) { c.erase("num_layers"); });
      const std::string error = error_of([&] { load_flux_transformer(folder); });
      CHECK_HAS(error, "has no 'num_layers'");
      CHECK_HAS(error, "config.json");
    }
    SUBCASE("RoPE axes that do not sum to the head size") {
      const fs::path folder = edited_folder(dir, [](nlohmann::json& c) {
        c["axes_dims_rope"] = {4, 6, 8};
      });
      CHECK_HAS(error_of([&] { load_flux_transformer(folder); }), "sums to 18");
    }
    SUBCASE("an unknown key and a wrong type") {
      const fs::path folder = edited_folder(dir, [](nlohmann::json& c) { c["num_layer"] = 2; });
      CHECK_HAS(error_of([&] { load_flux_transformer(folder); }), "unknown FluxTransformer2DModel config key 'num_layer'");
      nlohmann::json config;
      std::ifstream(kTransformer / "config.json") >> config;
      config["num_attention_heads"] = "2";
      CHECK_HAS(error_of([&] { FluxTransformerConfig::from_json(config, "x"); }),
                "'num_attention_heads' must be an integer");
      config["num_attention_heads"] = 2;
      config["_class_name"] = "SD3Transformer2DModel";
      CHECK_HAS(error_of([&] { FluxTransformerConfig::from_json(config, "x"); }),
                "found 'SD3Transformer2DModel'");
    }
    SUBCASE("a config that disagrees with the checkpoint") {
      const fs::path folder = edited_folder(dir, [](nlohmann::json& c) {
        c["num_single_layers"] = 4;
        c["joint_attention_dim"] = 25;
      });
      const std::string error = error_of([&] { load_flux_transformer(folder); });
      CHECK_HAS(error, "single_transformer_blocks.3.proj_out.weight");
      CHECK_HAS(error, "context_embedder.weight: the module expects [32, 25]");
    }
    SUBCASE("a checkpoint from another model") {
      dir.write("transformer/config.json",
                [] {
                  std::ifstream in(kTransformer / "config.json");
                  return std::string(std::istreambuf_iterator<char>(in), {});
                }());
      fs::copy_file(kFixtures / "tiny-flux-kontext" / "vae" / "diffusion_pytorch_model.safetensors",
                    dir.path() / "transformer" / "diffusion_pytorch_model.safetensors");
      CHECK_HAS(error_of([&] { load_flux_transformer(dir.path() / "transformer"); }),
                "is not a Flux transformer checkpoint");
      CHECK_HAS(error_of([&] {
                  load_flux_transformer(kFixtures / "tiny-flux-kontext" / "vae" /
                                        "diffusion_pytorch_model.safetensors");
                }),
                "must be a BFL Flux checkpoint");
    }
    SUBCASE("inputs of the wrong shape") {
      const Cases cases;
      FluxTransformer2DModel model = load_flux_transformer(kTransformer);
      FluxTransformerInputs in = cases.inputs("kontext");
      in.img_ids = in.img_ids.narrow(0, 0, 15);
      CHECK_HAS(error_of([&] { model->forward(in); }), "img_ids must be [16, 3]");
      in = cases.inputs("kontext");
      in.txt_ids = at::zeros({8, 3});
      CHECK_HAS(error_of([&] { model->forward(in); }), "txt_ids must be [7, 3]");
      in = cases.inputs("kontext");
      in.guidance = at::Tensor();
      CHECK_HAS(error_of([&] { model->forward(in); }), "guidance must be");
      in = cases.inputs("kontext");
      in.hidden_states = in.hidden_states.narrow(2, 0, 60);
      CHECK_HAS(error_of([&] { model->forward(in); }), "hidden_states must be [batch, image tokens, 64]");
      in = cases.inputs("kontext");
      in.pooled_projections = at::zeros({1, 20});
      CHECK_HAS(error_of([&] { model->forward(in); }), "pooled_projections must be [2, 20]");
    }
  }

  TEST_CASE("latent packing follows diffusers' order and round-trips") {
    const at::Tensor latents = at::arange(2 * 3 * 4 * 6, at::kFloat).reshape({2, 3, 4, 6});
    const at::Tensor packed = pack_latents(latents);
    CHECK(packed.sizes() == at::IntArrayRef({2, 6, 12}));
    // Token (row 0, col 1) of batch 0: channel 0's 2x2 patch at x = 2..3, then channel 1's.
    const at::Tensor token = packed[0][1];
    CHECK(token[0].item<float>() == latents[0][0][0][2].item<float>());
    CHECK(token[1].item<float>() == latents[0][0][0][3].item<float>());
    CHECK(token[2].item<float>() == latents[0][0][1][2].item<float>());
    CHECK(token[4].item<float>() == latents[0][1][0][2].item<float>());
    CHECK(at::equal(unpack_latents(packed, 4, 6), latents));
    CHECK_HAS(error_of([&] { pack_latents(at::zeros({1, 3, 5, 6})); }), "must be even");
    CHECK_HAS(error_of([&] { unpack_latents(packed, 4, 8); }), "unpack_latents");
    CHECK(at::equal(text_position_ids(7), at::zeros({7, 3})));
    // The fixture's target ids are grid_position_ids of the target's packed grid.
    const Cases cases;
    CHECK(at::equal(cases.get("kontext.img_ids").narrow(0, 0, kTargetTokens),
                    grid_position_ids(packed_grid(4, 6), 0)));
    CHECK(at::equal(cases.get("txt_ids"), text_position_ids(7)));
  }
}
