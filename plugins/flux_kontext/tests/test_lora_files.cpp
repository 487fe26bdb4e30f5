// LoRA adapters on the Flux transformer and their files: PEFT target-module matching,
// diffusers-layout save/load (weights, metadata, model output), the lossless kohya/ComfyUI
// conversion of fused q/k/v and linear1 LoRAs, `omnihost lora convert`, and the errors for
// files of another architecture or with unknown keys. Tiny random models, no fixtures.

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <regex>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>
#include <torch/csrc/autograd/grad_mode.h>

#include "flux_kontext/model/flux_transformer.hpp"
#include "omni/training/lora_adapters.hpp"
#include "flux_kontext/lora/lora_files.hpp"
#include "flux_kontext/lora/lora_kohya.hpp"
#include "flux_kontext/trainer/kontext_components.hpp"
#include "omni/error.hpp"
#include "omni/safetensors.hpp"
#include "test_checks.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using namespace flux_kontext;

namespace {

using omni::test::error_of;

FluxTransformerConfig tiny_config(std::int64_t heads = 2) {
  FluxTransformerConfig config;
  config.in_channels = 8;
  config.out_channels = 8;
  config.num_layers = 2;
  config.num_single_layers = 2;
  config.attention_head_dim = 16;
  config.num_attention_heads = heads;
  config.joint_attention_dim = 12;
  config.pooled_projection_dim = 10;
  config.axes_dims_rope = {4, 6, 6};
  return config;
}

// The same random base weights every time, so two models differ only by their adapters.
FluxTransformer2DModel tiny_model(std::int64_t heads = 2) {
  torch::manual_seed(7);
  return make_flux_transformer(tiny_config(heads));
}

FluxTransformerInputs tiny_inputs() {
  torch::manual_seed(11);
  FluxTransformerInputs in;
  in.hidden_states = at::randn({1, 4, 8});
  in.encoder_hidden_states = at::randn({1, 3, 12});
  in.pooled_projections = at::randn({1, 10});
  in.timestep = at::full({1}, 0.5);
  in.guidance = at::full({1}, 3.5);
  in.img_ids = at::arange(12, at::kFloat).reshape({4, 3});
  in.txt_ids = at::zeros({3, 3});
  return in;
}

at::Tensor output_of(FluxTransformer2DModel& model) {
  torch::NoGradGuard no_grad;
  return model->forward(tiny_inputs());
}

std::vector<std::string> adapted_by(const std::vector<std::string>& patterns) {
  FluxTransformer2DModel model = tiny_model();
  omni::LoraSpec spec;
  spec.rank = 2;
  spec.target_modules = patterns;
  return omni::attach_lora(*model, spec);
}

bool contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

void check_same_modules(const LoraModules& a, const LoraModules& b) {
  REQUIRE(a.size() == b.size());
  for (const auto& [name, m] : a) {
    CAPTURE(name);
    auto other = b.find(name);
    REQUIRE(other != b.end());
    CHECK(at::equal(m.down, other->second.down));
    CHECK(at::equal(m.up, other->second.up));
    CHECK(m.alpha == other->second.alpha);
  }
}

// Every linear adapted, A and B random, alpha != rank.
omni::LoraSpec all_linears_spec() {
  omni::LoraSpec spec;
  spec.rank = 4;
  spec.alpha = 6;
  spec.init = omni::LoraInit::normal;
  spec.target_modules = {".*"};
  return spec;
}

}  // namespace

TEST_SUITE("lora_files") {
  TEST_CASE("target modules follow PEFT: suffix after a dot, or a whole-name regex") {
    const std::vector<std::string> defaults = adapted_by(omni::LoraSpec().target_modules);
    CHECK(defaults.size() == 2 * 4 + 2 * 3);  // double: q, k, v, out; single: q, k, v
    CHECK(contains(defaults, "transformer_blocks.0.attn.to_q"));
    CHECK(contains(defaults, "transformer_blocks.1.attn.to_out.0"));
    CHECK(contains(defaults, "single_transformer_blocks.1.attn.to_v"));
    CHECK_FALSE(contains(defaults, "transformer_blocks.0.attn.add_q_proj"));

    const auto add_q = adapted_by({"add_q_proj"});
    CHECK(add_q == std::vector<std::string>{"transformer_blocks.0.attn.add_q_proj",
                                            "transformer_blocks.1.attn.add_q_proj"});
    const auto ff = adapted_by({"ff.net.0.proj"});  // not ff_context.net.0.proj
    CHECK(ff == std::vector<std::string>{"transformer_blocks.0.ff.net.0.proj",
                                         "transformer_blocks.1.ff.net.0.proj"});
    CHECK(adapted_by({"proj_mlp"}) ==
          std::vector<std::string>{"single_transformer_blocks.0.proj_mlp",
                                   "single_transformer_blocks.1.proj_mlp"});
    const auto proj_out = adapted_by({"proj_out"});
    CHECK(proj_out.size() == 3);
    CHECK(contains(proj_out, "proj_out"));
    CHECK(contains(proj_out, "single_transformer_blocks.0.proj_out"));
    CHECK(adapted_by({"norm1.linear"}) ==
          std::vector<std::string>{"transformer_blocks.0.norm1.linear",
                                   "transformer_blocks.1.norm1.linear"});
    CHECK(adapted_by({R"(single_transformer_blocks\.\d+\.attn\.to_[qk])"}) ==
          std::vector<std::string>{
              "single_transformer_blocks.0.attn.to_q", "single_transformer_blocks.0.attn.to_k",
              "single_transformer_blocks.1.attn.to_q", "single_transformer_blocks.1.attn.to_k"});
    // A regex must match the whole name: "to_q" alone as a regex selects nothing.
    CHECK_FALSE(omni::lora_target_matches("to_[q]", "transformer_blocks.0.attn.to_q"));

    const std::string nothing = error_of([] { adapted_by({"to_q", "to_z"}); });
    CHECK_HAS(nothing, "'to_z' matches no LoRA-capable linear");
    CHECK_HAS(nothing, "Modules are named like");
    CHECK_HAS(error_of([] { adapted_by({"to_q("}); }), "not a valid regular expression");

    FluxTransformer2DModel model = tiny_model();
    omni::attach_lora(*model, omni::LoraSpec());
    const omni::NamedTensors lora = omni::lora_parameters(*model);
    CHECK(lora.size() == 2 * defaults.size());
    CHECK(lora.front().first == "transformer_blocks.0.attn.to_q.lora_A.weight");
    std::size_t trainable = 0;
    for (const auto& parameter : model->parameters()) trainable += parameter.requires_grad();
    CHECK(trainable == lora.size());
  }

  TEST_CASE("a diffusers-layout file loads back exactly (alpha / r inside lora_B), with the same output") {
    omni::test::TempDir dir;
    FluxTransformer2DModel model = tiny_model();
    omni::LoraSpec spec = all_linears_spec();
    spec.target_modules = {"to_q", "to_k", "to_v", "to_out.0", "add_q_proj", "proj_mlp",
                           "norm1.linear"};
    const std::vector<std::string> adapted = omni::attach_lora(*model, spec);
    const fs::path file = dir.path() / "pytorch_lora_weights.safetensors";
    save_lora_diffusers(file, *model, spec);

    FluxTransformer2DModel loaded = tiny_model();
    const at::Tensor base_output = output_of(loaded);
    CHECK(load_lora_file(file, *loaded) == adapted);
    const omni::NamedTensors original = omni::lora_parameters(*model);
    const omni::NamedTensors reloaded = omni::lora_parameters(*loaded);
    REQUIRE(original.size() == reloaded.size());
    // lora_A as trained; lora_B times alpha / r = 1.5 (exact in fp32), at scale 1.
    for (std::size_t i = 0; i < original.size(); ++i) {
      CAPTURE(original[i].first);
      CHECK(original[i].first == reloaded[i].first);
      const bool up = original[i].first.find("lora_B") != std::string::npos;
      CHECK(at::equal(up ? original[i].second * 1.5 : original[i].second, reloaded[i].second));
    }
    const at::Tensor expected = output_of(model);
    // Equal up to where the 1.5 is applied: (1.5 B) A instead of 1.5 (B A).
    CHECK(at::allclose(output_of(loaded), expected, 1e-5, 1e-6));
    CHECK_FALSE(at::allclose(base_output, expected));  // the adapters do something

    // A scale multiplies the adapter's contribution.
    FluxTransformer2DModel half = tiny_model();
    load_lora_file(file, *half, 0.0);
    CHECK(at::allclose(output_of(half), base_output, 0, 1e-6));
  }

  TEST_CASE("the header carries diffusers' lora_adapter_metadata") {
    omni::test::TempDir dir;
    FluxTransformer2DModel model = tiny_model();
    omni::LoraSpec spec;
    spec.rank = 4;
    spec.alpha = 8;
    spec.dropout = 0.1;
    omni::attach_lora(*model, spec);
    const fs::path file = dir.path() / "lora.safetensors";
    save_lora_diffusers(file, *model, spec);

    const auto saved = omni::SafetensorsFile::open(file);
    CHECK(saved->metadata().at("format") == "pt");
    const nlohmann::json metadata = nlohmann::json::parse(saved->metadata().at("lora_adapter_metadata"));
    CHECK(metadata.at("transformer.r") == 4);
    // alpha / r (2) is folded into lora_B and the file says lora_alpha = r (see the ComfyUI test).
    CHECK(metadata.at("transformer.lora_alpha") == 4.0);
    CHECK(metadata.at("transformer.lora_dropout") == 0.1);
    CHECK(metadata.at("transformer.target_modules") ==
          nlohmann::json{"to_k", "to_out.0", "to_q", "to_v"});
    CHECK(metadata.at("transformer.init_lora_weights") == "gaussian");
    CHECK(metadata.at("transformer.rank_pattern").empty());
    CHECK(metadata.at("transformer.alpha_pattern").empty());
    CHECK(metadata.at("transformer.use_dora") == false);
    for (const auto& item : metadata.items()) CHECK_HAS(item.key(), "transformer.");
    // No .alpha keys: diffusers refuses network alphas together with metadata.
    for (const std::string& name : saved->names()) CHECK(name.find(".alpha") == std::string::npos);
    CHECK(saved->contains("transformer.transformer_blocks.0.attn.to_q.lora_A.weight"));
    CHECK(saved->info("transformer.transformer_blocks.0.attn.to_q.lora_B.weight").dtype == "F32");
    CHECK(saved->info("transformer.transformer_blocks.0.attn.to_q.lora_B.weight").shape ==
          std::vector<std::int64_t>{32, 4});

    // The alpha comes back from the metadata, with the scale inside lora_B, and a regex spec is
    // written as PEFT's single-string form.
    const LoraModuleWeights to_v = read_lora_file(file).modules.at("transformer_blocks.1.attn.to_v");
    CHECK(to_v.alpha == 4.0);
    CHECK(at::equal(to_v.up, lora_modules(*model).at("transformer_blocks.1.attn.to_v").up * 2));
    FluxTransformer2DModel regex_model = tiny_model();
    const omni::LoraSpec regex_spec = all_linears_spec();
    omni::attach_lora(*regex_model, regex_spec);
    save_lora_diffusers(dir.path() / "regex.safetensors", *regex_model, regex_spec);
    const nlohmann::json regex_metadata = nlohmann::json::parse(
        omni::SafetensorsFile::open(dir.path() / "regex.safetensors")->metadata().at("lora_adapter_metadata"));
    CHECK(regex_metadata.at("transformer.target_modules") == ".*");

    // A spec that does not describe the adapters is refused.
    omni::LoraSpec other = spec;
    other.rank = 8;
    CHECK_HAS(error_of([&] { save_lora_diffusers(dir.path() / "x.safetensors", *model, other); }),
              "has rank 4");
  }

  TEST_CASE("diffusers -> kohya -> diffusers is bit-identical, fused layers included") {
    omni::test::TempDir dir;
    FluxTransformer2DModel model = tiny_model();
    const omni::LoraSpec spec = all_linears_spec();
    omni::attach_lora(*model, spec);
    const fs::path diffusers = dir.path() / "diffusers.safetensors";
    const fs::path kohya = dir.path() / "kohya.safetensors";
    const fs::path back = dir.path() / "back.safetensors";
    save_lora_diffusers(diffusers, *model, spec);

    const omni::test::CommandResult to_kohya = omni::test::run_host(
        "lora convert " + omni::test::quote(diffusers.string()) + " " +
        omni::test::quote(kohya.string()) + " --to kohya");
    REQUIRE_MESSAGE(to_kohya.exit_code == 0, to_kohya.output);
    CHECK_HAS(to_kohya.output, "(diffusers layout)");
    const omni::test::CommandResult to_diffusers = omni::test::run_host(
        "lora convert " + omni::test::quote(kohya.string()) + " " +
        omni::test::quote(back.string()) + " --to diffusers");
    REQUIRE_MESSAGE(to_diffusers.exit_code == 0, to_diffusers.output);
    CHECK_HAS(to_diffusers.output, "(kohya layout)");

    // The kohya file: fused q/k/v and linear1 as one LoRA of rank k * r, alpha its rank (the
    // scale alpha / r = 1.5 is folded into lora_up).
    const auto k = omni::SafetensorsFile::open(kohya);
    CHECK(k->info("lora_unet_double_blocks_1_img_attn_qkv.lora_down.weight").shape ==
          std::vector<std::int64_t>{12, 32});
    CHECK(k->info("lora_unet_double_blocks_1_txt_attn_qkv.lora_up.weight").shape ==
          std::vector<std::int64_t>{96, 12});
    CHECK(k->tensor("lora_unet_double_blocks_1_img_attn_qkv.alpha").item<double>() == 12.0);
    CHECK(k->info("lora_unet_single_blocks_0_linear1.lora_up.weight").shape ==
          std::vector<std::int64_t>{3 * 32 + 128, 16});
    CHECK(k->tensor("lora_unet_single_blocks_0_linear1.alpha").item<double>() == 16.0);
    CHECK(k->tensor("lora_unet_double_blocks_0_img_mlp_0.alpha").item<double>() == 4.0);
    for (const char* name : {"lora_unet_img_in", "lora_unet_final_layer_linear",
                             "lora_unet_final_layer_adaLN_modulation_1",
                             "lora_unet_double_blocks_0_txt_mod_lin",
                             "lora_unet_single_blocks_1_modulation_lin",
                             "lora_unet_guidance_in_out_layer"}) {
      CHECK_MESSAGE(k->contains(std::string(name) + ".lora_up.weight"), name);
    }
    // The final layer's modulation has BFL's (shift, scale) order: lora_up's halves swap.
    const LoraModules original = fold_alpha_into_up(lora_modules(*model));
    const at::Tensor norm_out_up = original.at("norm_out.linear").up;
    CHECK(at::equal(k->tensor("lora_unet_final_layer_adaLN_modulation_1.lora_up.weight"),
                    at::cat({norm_out_up.narrow(0, 32, 32), norm_out_up.narrow(0, 0, 32)}, 0)));

    check_same_modules(original, read_lora_file(back).modules);
    const LoraFileContents from_kohya = read_lora_file(kohya);
    CHECK(from_kohya.layout == LoraLayout::kohya);
    check_same_modules(original, from_kohya.modules);

    // The model with the kohya file computes what the original did.
    FluxTransformer2DModel loaded = tiny_model();
    load_lora_file(kohya, *loaded);
    CHECK(at::allclose(output_of(loaded), output_of(model), 1e-5, 1e-6));
  }

  TEST_CASE("every loader applies the trained strength: alpha / r is folded into lora_B") {
    // ComfyUI's loader (comfy/lora.py) scales up @ down by alpha / rank only when the file has
    // an `.alpha` key; it ignores lora_adapter_metadata. Its delta is computed here from the
    // file's tensors alone, and must equal the trained delta (alpha 8 / r 16 = 0.5), in both
    // layouts and after `lora convert` both ways.
    omni::test::TempDir dir;
    FluxTransformer2DModel model = tiny_model();
    omni::LoraSpec spec;
    spec.rank = 16;
    spec.alpha = 8;
    spec.init = omni::LoraInit::normal;
    omni::attach_lora(*model, spec);
    const LoraModules trained = lora_modules(*model);
    const auto trained_delta = [&](const std::string& module) {
      const LoraModuleWeights& m = trained.at(module);
      return at::matmul(m.up, m.down) * 0.5;
    };
    const auto comfy_delta = [](const omni::SafetensorsFile& file, const std::string& key) {
      std::string up = key + ".lora_B.weight", down = key + ".lora_A.weight";
      if (!file.contains(up)) up = key + ".lora_up.weight", down = key + ".lora_down.weight";
      const at::Tensor a = file.tensor(down), b = file.tensor(up);
      const double scale = file.contains(key + ".alpha")
                               ? file.tensor(key + ".alpha").item<double>() / static_cast<double>(a.size(0))
                               : 1.0;
      return at::matmul(b, a) * scale;
    };
    const fs::path diffusers = dir.path() / "d.safetensors", kohya = dir.path() / "k.safetensors",
                   back = dir.path() / "back.safetensors";
    save_lora_diffusers(diffusers, *model, spec);
    REQUIRE(omni::test::run_host("lora convert " + omni::test::quote(diffusers.string()) + " " +
                                 omni::test::quote(kohya.string()) + " --to kohya").exit_code == 0);
    REQUIRE(omni::test::run_host("lora convert " + omni::test::quote(kohya.string()) + " " +
                                 omni::test::quote(back.string()) + " --to diffusers").exit_code == 0);
    const std::string q = "transformer_blocks.0.attn.to_q";
    for (const fs::path& file : {diffusers, back}) {
      CAPTURE(file);
      const auto opened = omni::SafetensorsFile::open(file);
      CHECK(at::allclose(comfy_delta(*opened, "transformer." + q), trained_delta(q), 1e-5, 1e-6));
    }
    // The kohya file fuses q, k and v: to_q's rows of the fused delta.
    const auto fused = omni::SafetensorsFile::open(kohya);
    CHECK(at::allclose(comfy_delta(*fused, "lora_unet_double_blocks_0_img_attn_qkv").narrow(0, 0, 32),
                       trained_delta(q), 1e-5, 1e-6));
    // diffusers and omnihost read the metadata: alpha = r, so the same strength there too.
    for (const fs::path& file : {diffusers, kohya, back}) {
      FluxTransformer2DModel loaded = tiny_model();
      load_lora_file(file, *loaded);
      CHECK(at::allclose(output_of(loaded), output_of(model), 1e-5, 1e-6));
    }
  }

  TEST_CASE("fused layers adapted in part, and dense fused LoRAs, convert exactly") {
    omni::test::TempDir dir;
    // The default targets adapt single blocks' q/k/v but not proj_mlp: a zero block.
    FluxTransformer2DModel model = tiny_model();
    omni::LoraSpec spec;
    spec.rank = 2;
    spec.init = omni::LoraInit::normal;
    omni::attach_lora(*model, spec);
    const LoraModules original = fold_alpha_into_up(lora_modules(*model));
    write_lora_kohya(dir.path() / "partial.safetensors", original);
    const auto partial = omni::SafetensorsFile::open(dir.path() / "partial.safetensors");
    const at::Tensor up = partial->tensor("lora_unet_single_blocks_0_linear1.lora_up.weight");
    CHECK(up.sizes() == at::IntArrayRef({3 * 32 + 128, 8}));
    CHECK(up.narrow(0, 96, 128).count_nonzero().item<std::int64_t>() == 0);
    check_same_modules(original, read_lora_file(dir.path() / "partial.safetensors").modules);

    // A LoRA trained on the fused qkv (lora_up not block-diagonal): every part gets the whole
    // lora_down and its rows of lora_up, as diffusers does, so the delta is the same.
    torch::manual_seed(3);
    const at::Tensor down = at::randn({3, 32});
    const at::Tensor dense_up = at::randn({96, 3});
    omni::save_safetensors(dir.path() / "dense.safetensors",
                           {{"lora_unet_double_blocks_0_img_attn_qkv.lora_down.weight", down},
                            {"lora_unet_double_blocks_0_img_attn_qkv.lora_up.weight", dense_up},
                            {"lora_unet_double_blocks_0_img_attn_qkv.alpha", at::scalar_tensor(1.5, at::kFloat)}});
    const LoraModules dense = read_lora_file(dir.path() / "dense.safetensors").modules;
    REQUIRE(dense.size() == 3);
    const LoraModuleWeights& to_k = dense.at("transformer_blocks.0.attn.to_k");
    CHECK(to_k.rank() == 3);
    CHECK(to_k.alpha == 1.5);
    CHECK(at::equal(to_k.down, down));
    CHECK(at::equal(to_k.up, dense_up.narrow(0, 32, 32)));
  }

  TEST_CASE("omnihost lora convert reports bad input clearly") {
    omni::test::TempDir dir;
    const auto convert = [&](const std::string& arguments) {
      return omni::test::run_host("lora convert " + arguments);
    };
    const std::string out = omni::test::quote((dir.path() / "out.safetensors").string());
    const omni::test::CommandResult missing =
        convert(omni::test::quote((dir.path() / "nope.safetensors").string()) + " " + out +
                " --to kohya");
    CHECK(missing.exit_code != 0);
    CHECK_HAS(missing.output, "nope.safetensors");
    CHECK_HAS(missing.output, "does not exist");

    const fs::path garbage = dir.write("garbage.safetensors", "not a safetensors file at all");
    const omni::test::CommandResult invalid =
        convert(omni::test::quote(garbage.string()) + " " + out + " --to kohya");
    CHECK(invalid.exit_code != 0);
    CHECK_HAS(invalid.output, "garbage.safetensors");

    omni::save_safetensors(dir.path() / "model.safetensors", {{"proj_out.weight", at::zeros({2, 2})}});
    const omni::test::CommandResult layout = convert(
        omni::test::quote((dir.path() / "model.safetensors").string()) + " " + out + " --to diffusers");
    CHECK(layout.exit_code != 0);
    CHECK_HAS(layout.output, "not a LoRA layout");
    CHECK_HAS(layout.output, "proj_out.weight");

    const omni::test::CommandResult bad_to =
        convert(omni::test::quote(garbage.string()) + " " + out + " --to comfy");
    CHECK(bad_to.exit_code != 0);
    CHECK_HAS(bad_to.output, "--to must be kohya or diffusers");
    const omni::test::CommandResult no_to = convert(omni::test::quote(garbage.string()) + " " + out);
    CHECK(no_to.exit_code != 0);
    CHECK_HAS(no_to.output, "--to is required");
    CHECK_FALSE(fs::exists(dir.path() / "out.safetensors"));
  }

  TEST_CASE("a LoRA of another architecture, or with unknown keys, is refused") {
    omni::test::TempDir dir;
    FluxTransformer2DModel wide = tiny_model(/*heads=*/4);  // hidden size 64, not 32
    omni::LoraSpec spec;
    spec.rank = 2;
    omni::attach_lora(*wide, spec);
    const fs::path wide_file = dir.path() / "wide.safetensors";
    save_lora_diffusers(wide_file, *wide, spec);
    FluxTransformer2DModel model = tiny_model();
    const std::string mismatch = error_of([&] { load_lora_file(wide_file, *model); });
    CHECK_HAS(mismatch, "wide.safetensors");
    CHECK_HAS(mismatch, "does not fit this Flux transformer");
    CHECK_HAS(mismatch, "lora_A.weight is [2, 64], expected [2, 32]");
    write_lora_kohya(dir.path() / "wide_kohya.safetensors", lora_modules(*wide));
    CHECK_HAS(error_of([&] { load_lora_file(dir.path() / "wide_kohya.safetensors", *model); }),
              "does not fit");

    const at::Tensor a = at::zeros({2, 32});
    const at::Tensor b = at::zeros({32, 2});
    const std::string q = "transformer.transformer_blocks.0.attn.to_q.";
    omni::save_safetensors(dir.path() / "extra.safetensors",
                           {{q + "lora_A.weight", a}, {q + "lora_B.weight", b},
                            {q + "lora_magnitude_vector", at::zeros({32})}});
    const std::string extra = error_of([&] { load_lora_file(dir.path() / "extra.safetensors", *model); });
    CHECK_HAS(extra, "extra.safetensors");
    CHECK_HAS(extra, "unknown keys");
    CHECK_HAS(extra, "lora_magnitude_vector");

    omni::save_safetensors(dir.path() / "deep.safetensors",
                           {{"transformer.transformer_blocks.7.attn.to_q.lora_A.weight", a},
                            {"transformer.transformer_blocks.7.attn.to_q.lora_B.weight", b}});
    CHECK_HAS(error_of([&] { load_lora_file(dir.path() / "deep.safetensors", *model); }),
              "modules the Flux transformer does not have: transformer_blocks.7.attn.to_q");

    omni::save_safetensors(dir.path() / "kohya_extra.safetensors",
                           {{"lora_unet_double_blocks_0_img_mlp_0.lora_down.weight", a},
                            {"lora_unet_double_blocks_0_img_mlp_0.lora_up.weight", at::zeros({128, 2})},
                            {"lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_down.weight", a}});
    const std::string kohya_extra =
        error_of([&] { read_lora_file(dir.path() / "kohya_extra.safetensors"); });
    CHECK_HAS(kohya_extra, "unknown keys in a kohya-layout LoRA");
    CHECK_HAS(kohya_extra, "lora_te1_text_model_encoder_layers_0_mlp_fc1");

    omni::save_safetensors(dir.path() / "kohya_name.safetensors",
                           {{"lora_unet_double_blocks_0_img_attn_norm.lora_down.weight", a},
                            {"lora_unet_double_blocks_0_img_attn_norm.lora_up.weight", b}});
    CHECK_HAS(error_of([&] { read_lora_file(dir.path() / "kohya_name.safetensors"); }),
              "'lora_unet_double_blocks_0_img_attn_norm' names no linear");

    // A PEFT file (no prefix) with per-module .alpha keys loads with those alphas.
    omni::save_safetensors(dir.path() / "peft.safetensors",
                           {{"transformer_blocks.0.attn.to_q.lora_A.weight", a},
                            {"transformer_blocks.0.attn.to_q.lora_B.weight", b},
                            {"transformer_blocks.0.attn.to_q.alpha", at::scalar_tensor(1.0, at::kFloat)}});
    CHECK(read_lora_file(dir.path() / "peft.safetensors")
              .modules.at("transformer_blocks.0.attn.to_q")
              .alpha == 1.0);
  }

  // Anchors written from the published layouts, not from this project's mappings:
  // tests/fixtures/external/README.md gives their sources.
  TEST_CASE("a kohya LoRA written by ComfyUI's key rules changes each weight as ComfyUI does") {
    const fs::path external = omni::test::fixtures_dir() / "external";
    const fs::path transformer = omni::test::fixtures_dir() / "flux" / "tiny-flux-kontext" / "transformer";
    FluxTransformer2DModel base = load_flux_transformer(transformer);
    FluxTransformer2DModel patched = load_flux_transformer(transformer);
    apply_base_loras(*patched, {BaseLora{(external / "comfyui_kohya_flux_tiny.safetensors").string(),
                                         1.0, /*fuse=*/true}});
    const auto expected = omni::SafetensorsFile::open(external / "comfyui_kohya_flux_tiny_expected.safetensors");
    std::map<std::string, at::Tensor> before;
    for (const auto& item : base->named_parameters()) before[item.key()] = item.value().detach();
    int changed = 0;
    for (const auto& item : patched->named_parameters()) {
      CAPTURE(item.key());
      const at::Tensor delta = item.value().detach() - before.at(item.key());
      if (expected->contains(item.key())) {
        const at::Tensor want = expected->tensor(item.key());
        CHECK(at::allclose(delta, want, 1e-5, 1e-6));
        ++changed;
      } else {
        CHECK(delta.abs().max().item<double>() == 0.0);
      }
    }
    CHECK(changed == static_cast<int>(expected->names().size()));
  }

  TEST_CASE("BFL's published key list of flux1-kontext-dev loads, every key used") {
    // The list's shapes, scaled to the tiny transformer (hidden 32 = 2 heads of 16, MLP 128,
    // text 24, pooled 20), and its blocks cut to the tiny 2 double and 3 single blocks.
    const FluxTransformerConfig config = FluxTransformerConfig::from_folder(
        omni::test::fixtures_dir() / "flux" / "tiny-flux-kontext" / "transformer");
    const std::int64_t h = config.inner_dim();
    REQUIRE(h == 32);
    const std::map<std::int64_t, std::int64_t> scaled = {
        {3072, h},      {2 * 3072, 2 * h}, {3 * 3072, 3 * h}, {4 * 3072, 4 * h}, {5 * 3072, 5 * h},
        {6 * 3072, 6 * h}, {7 * 3072, 7 * h}, {128, config.attention_head_dim},
        {4096, config.joint_attention_dim}, {768, config.pooled_projection_dim}, {64, 64}, {256, 256}};
    std::ifstream list(omni::test::fixtures_dir() / "external" / "bfl_flux1_kontext_dev_keys.txt");
    const std::regex line_form(R"(^(\S+) \[([0-9,]+)\]$)"), block(R"(^(double|single)_blocks\.(\d+)\.)");
    omni::NamedTensors tensors;
    int listed = 0;
    torch::manual_seed(3);
    for (std::string line; std::getline(list, line);) {
      std::smatch match;
      REQUIRE(std::regex_match(line, match, line_form));
      ++listed;
      const std::string name = match[1].str();
      std::smatch index;
      if (std::regex_search(name, index, block)) {
        const long limit = index[1].str() == "double" ? config.num_layers : config.num_single_layers;
        if (std::stol(index[2].str()) >= limit) continue;
      }
      std::vector<std::int64_t> shape;
      std::stringstream dims(match[2].str());
      for (std::string dim; std::getline(dims, dim, ',');) {
        CAPTURE(line);
        shape.push_back(scaled.at(std::stoll(dim)));
      }
      tensors.emplace_back(name, at::randn(shape));
    }
    CHECK(listed == 780);  // 19 double blocks x 24 + 38 single x 8 + 20
    omni::test::TempDir dir;
    const fs::path file = dir.path() / "flux1-kontext-tiny.safetensors";
    omni::save_safetensors(file, tensors);
    FluxTransformer2DModel model(config);
    // Strict: a listed key the mapping does not know, or a parameter no key fills, fails.
    load_flux_transformer_weights(*model, omni::TensorSource::open(file), {});

    // The splits and the swap of the published conversion.
    std::map<std::string, at::Tensor> bfl(tensors.begin(), tensors.end());
    std::map<std::string, at::Tensor> loaded;
    for (const auto& item : model->named_parameters()) loaded[item.key()] = item.value().detach();
    const at::Tensor qkv = bfl.at("double_blocks.1.img_attn.qkv.weight");
    CHECK(at::equal(loaded.at("transformer_blocks.1.attn.to_k.weight"), qkv.slice(0, h, 2 * h)));
    const at::Tensor txt_qkv = bfl.at("double_blocks.0.txt_attn.qkv.bias");
    CHECK(at::equal(loaded.at("transformer_blocks.0.attn.add_v_proj.bias"), txt_qkv.slice(0, 2 * h, 3 * h)));
    const at::Tensor linear1 = bfl.at("single_blocks.2.linear1.weight");
    CHECK(at::equal(loaded.at("single_transformer_blocks.2.attn.to_q.weight"), linear1.slice(0, 0, h)));
    CHECK(at::equal(loaded.at("single_transformer_blocks.2.proj_mlp.weight"), linear1.slice(0, 3 * h, 7 * h)));
    CHECK(at::equal(loaded.at("single_transformer_blocks.0.proj_out.weight"),
                    bfl.at("single_blocks.0.linear2.weight")));
    const at::Tensor modulation = bfl.at("final_layer.adaLN_modulation.1.weight");
    CHECK(at::equal(loaded.at("norm_out.linear.weight"),
                    at::cat({modulation.slice(0, h, 2 * h), modulation.slice(0, 0, h)})));
    CHECK(at::equal(loaded.at("transformer_blocks.0.attn.norm_added_k.weight"),
                    bfl.at("double_blocks.0.txt_attn.norm.key_norm.scale")));
    CHECK(at::equal(loaded.at("time_text_embed.guidance_embedder.linear_2.weight"),
                    bfl.at("guidance_in.out_layer.weight")));
  }
}
