// safetensors: round trips of every dtype and of metadata, sharded checkpoints, the reference
// fixture written by the Python library, one broken file per validation rule, atomic saving,
// and the fuzzing corpus replayed through the reader.
#include <fstream>
#include <functional>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "omni/error.hpp"
#include "omni/safetensors.hpp"
#include "omni/torch_compat.hpp"
#include "test_support.hpp"

#include "test_checks.hpp"

namespace fs = std::filesystem;

namespace {

using omni::test::error_of;
using omni::test::read_file;

// A safetensors file from raw parts; `length` overrides the header length field.
std::string raw_file(const std::string& header, const std::string& data = "",
                     std::optional<std::uint64_t> length = std::nullopt) {
  const std::uint64_t n = length.value_or(header.size());
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xFF);
  return out + header + data;
}

std::vector<std::string> folder_entries(const fs::path& folder) {
  std::vector<std::string> out;
  for (const auto& entry : fs::directory_iterator(folder)) {
    out.push_back(entry.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_SUITE("safetensors") {
  TEST_CASE("every dtype round-trips with its values, shape and name") {
    omni::test::TempDir dir;
    const std::vector<std::pair<at::ScalarType, std::string>> dtypes = {
        {at::kDouble, "F64"}, {at::kFloat, "F32"},    {at::kHalf, "F16"},
        {at::kBFloat16, "BF16"}, {at::kLong, "I64"},  {at::kInt, "I32"},
        {at::kShort, "I16"},  {at::kChar, "I8"},      {at::kByte, "U8"},
        {at::kBool, "BOOL"},
#if OMNI_HAS_FLOAT8
        {at::kFloat8_e4m3fn, "F8_E4M3"}, {at::kFloat8_e5m2, "F8_E5M2"},
#endif
    };
    omni::NamedTensors tensors;
    for (const auto& [type, name] : dtypes) {
      at::Tensor values = at::arange(24, at::kFloat).reshape({2, 3, 4}).remainder(7) - 3;
      tensors.emplace_back("t_" + name, values.to(type));
    }
    tensors.emplace_back("scalar", at::scalar_tensor(2.5, at::kFloat));
    tensors.emplace_back("empty", at::empty({0, 5}, at::kHalf));
    // Non-contiguous input is written contiguous.
    tensors.emplace_back("transposed", at::arange(6, at::kInt).reshape({2, 3}).t());
    const fs::path file = dir.path() / "all.safetensors";
    omni::save_safetensors(file, tensors, {{"format", "pt"}, {"note", "grüße ✓"}});

    auto loaded = omni::SafetensorsFile::open(file);
    CHECK(loaded->metadata().at("format") == "pt");
    CHECK(loaded->metadata().at("note") == "grüße ✓");
    CHECK(loaded->names().size() == tensors.size());
    for (const auto& [type, dtype] : dtypes) {
      const std::string name = "t_" + dtype;
      CAPTURE(name);
      CHECK(loaded->info(name).dtype == dtype);
      CHECK(loaded->info(name).shape == std::vector<std::int64_t>{2, 3, 4});
      at::Tensor got = loaded->tensor(name);
      CHECK((got.scalar_type() == type));
      const at::Tensor& expected = std::find_if(tensors.begin(), tensors.end(), [&](auto& t) {
                                     return t.first == name;
                                   })->second;
      CHECK(at::equal(got.to(at::kFloat), expected.to(at::kFloat)));
    }
    CHECK(loaded->tensor("scalar").dim() == 0);
    CHECK(loaded->tensor("scalar").item<float>() == 2.5f);
    CHECK(loaded->tensor("empty").sizes() == at::IntArrayRef({0, 5}));
    CHECK(at::equal(loaded->tensor("transposed"), tensors.back().second));

    // The header is space-padded to 8 bytes, so the data section starts aligned.
    const std::string bytes = read_file(file);
    std::uint64_t header_length = 0;
    for (int i = 7; i >= 0; --i) header_length = header_length << 8 | std::uint8_t(bytes[i]);
    CHECK(header_length % 8 == 0);
    CHECK(bytes[8 + header_length - 1] != '\0');
  }

  TEST_CASE("tensors view the mapping and keep it alive") {
    omni::test::TempDir dir;
    const fs::path file = dir.path() / "a.safetensors";
    omni::save_safetensors(file, {{"w", at::arange(1000, at::kFloat)}});
    at::Tensor view;
    {
      auto loaded = omni::SafetensorsFile::open(file);
      view = loaded->tensor("w");
      CHECK(view.data_ptr() == loaded->tensor("w").data_ptr());  // no copy
    }
    fs::remove(file);  // the mapping outlives the name
    CHECK(view.sum().item<double>() == doctest::Approx(999.0 * 1000 / 2));
  }

  TEST_CASE("metadata alone, and no metadata") {
    omni::test::TempDir dir;
    omni::save_safetensors(dir.path() / "m.safetensors", {}, {{"a", "1"}, {"b", ""}});
    auto only_metadata = omni::SafetensorsFile::open(dir.path() / "m.safetensors");
    CHECK(only_metadata->names().empty());
    CHECK(only_metadata->metadata() == std::map<std::string, std::string>{{"a", "1"}, {"b", ""}});
    omni::save_safetensors(dir.path() / "n.safetensors", {{"x", at::ones({2})}});
    CHECK(omni::SafetensorsFile::open(dir.path() / "n.safetensors")->metadata().empty());
  }

  TEST_CASE("float8 tensors open everywhere and convert where LibTorch has them") {
    omni::test::TempDir dir;
    const fs::path file = dir.write(
        "f8.safetensors",
        raw_file(R"({"a":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]},)"
                 R"("b":{"dtype":"F8_E5M2","shape":[2],"data_offsets":[2,4]}}    )",
                 std::string("\x38\x40\x3c\x40", 4)));
    auto loaded = omni::SafetensorsFile::open(file);
    CHECK(loaded->info("a").dtype == "F8_E4M3");
#if OMNI_HAS_FLOAT8
    CHECK(loaded->tensor("a").to(at::kFloat)[0].item<float>() == 1.0f);
    CHECK(loaded->tensor("b").to(at::kFloat)[1].item<float>() == 2.0f);
#else
    const std::string message = error_of([&] { loaded->tensor("a"); });
    CHECK_HAS(message, "tensor 'a'");
    CHECK_HAS(message, "F8_E4M3 needs LibTorch 2.1");
#endif
  }

  TEST_CASE("sharded checkpoints read through their index") {
    omni::test::TempDir dir;
    omni::save_safetensors(dir.path() / "model-00001-of-00002.safetensors",
                           {{"a.weight", at::ones({2, 2})}, {"b.weight", at::zeros({3})}},
                           {{"format", "pt"}});
    omni::save_safetensors(dir.path() / "model-00002-of-00002.safetensors",
                           {{"c.weight", at::full({4}, 7.0)}});
    const std::string index = R"({"metadata": {"total_size": 44}, "weight_map": {
        "a.weight": "model-00001-of-00002.safetensors",
        "b.weight": "model-00001-of-00002.safetensors",
        "c.weight": "model-00002-of-00002.safetensors"}})";
    dir.write("diffusion_pytorch_model.safetensors.index.json", index);

    for (const fs::path& where :
         {dir.path(), dir.path() / "diffusion_pytorch_model.safetensors.index.json"}) {
      auto source = omni::TensorSource::open(where);
      CHECK(source->names() == std::vector<std::string>{"a.weight", "b.weight", "c.weight"});
      CHECK(source->tensor("c.weight")[3].item<float>() == 7.0f);
      CHECK(source->info("a.weight").shape == std::vector<std::int64_t>{2, 2});
      CHECK(source->metadata().at("format") == "pt");
      CHECK_HAS(source->description(), "2 shards");
      CHECK_HAS(error_of([&] { source->info("d.weight"); }), "tensor 'd.weight' is not in");
    }

    SUBCASE("an index that names a tensor its shard lacks") {
      dir.write("bad.safetensors.index.json",
                R"({"weight_map": {"a.weight": "model-00002-of-00002.safetensors"}})");
      const std::string message =
          error_of([&] { omni::TensorSource::open(dir.path() / "bad.safetensors.index.json"); });
      CHECK_HAS(message, "puts tensor 'a.weight' in");
    }
    SUBCASE("a shard tensor the index does not list") {
      dir.write("bad.safetensors.index.json",
                R"({"weight_map": {"c.weight": "model-00002-of-00002.safetensors",
                                   "a.weight": "model-00001-of-00002.safetensors"}})");
      const std::string message =
          error_of([&] { omni::TensorSource::open(dir.path() / "bad.safetensors.index.json"); });
      CHECK_HAS(message, "holds tensor 'b.weight', which the weight_map");
    }
    SUBCASE("an index that points outside its folder or to a missing shard") {
      dir.write("bad.safetensors.index.json", R"({"weight_map": {"a": "../x.safetensors"}})");
      CHECK_HAS(error_of([&] { omni::TensorSource::open(dir.path() / "bad.safetensors.index.json"); }),
                "not a file inside the index's folder");
      dir.write("bad.safetensors.index.json", R"({"weight_map": {"a": "gone.safetensors"}})");
      CHECK_HAS(error_of([&] { omni::TensorSource::open(dir.path() / "bad.safetensors.index.json"); }),
                "gone.safetensors");
      dir.write("bad.safetensors.index.json", R"({"weight_map": )");
      CHECK_HAS(error_of([&] { omni::TensorSource::open(dir.path() / "bad.safetensors.index.json"); }),
                "is not valid JSON");
    }
  }

  TEST_CASE("a folder is opened through the names diffusers and transformers use") {
    omni::test::TempDir dir;
    CHECK_HAS(error_of([&] { omni::TensorSource::open(dir.path()); }),
              "diffusion_pytorch_model.safetensors");
    CHECK_HAS(error_of([&] { omni::TensorSource::open(dir.path() / "nothing"); }),
              "does not exist");
    omni::save_safetensors(dir.path() / "model.safetensors", {{"x", at::ones({1})}});
    CHECK(omni::TensorSource::open(dir.path())->names() == std::vector<std::string>{"x"});
    omni::save_safetensors(dir.path() / "diffusion_pytorch_model.safetensors",
                           {{"y", at::ones({1})}});
    CHECK(omni::TensorSource::open(dir.path())->names() == std::vector<std::string>{"y"});

    omni::test::TempDir other;
    omni::save_safetensors(other.path() / "lora.safetensors", {{"z", at::ones({1})}});
    CHECK(omni::TensorSource::open(other.path())->names() == std::vector<std::string>{"z"});
    omni::save_safetensors(other.path() / "lora2.safetensors", {{"z", at::ones({1})}});
    CHECK_HAS(error_of([&] { omni::TensorSource::open(other.path()); }), "several");
  }

  TEST_CASE("the reference fixture lists every tensor with its shape and dtype") {
    const fs::path root = omni::test::fixtures_dir() / "flux" / "tiny-flux-kontext";
    const auto read_config = [&](const char* component) {
      std::ifstream in(root / component / "config.json");
      return nlohmann::json::parse(in);
    };

    // The diffusers FluxTransformer2DModel layout, derived from its config.json.
    const nlohmann::json config = read_config("transformer");
    const std::int64_t hidden = config["num_attention_heads"].get<std::int64_t>() *
                                config["attention_head_dim"].get<std::int64_t>();
    const std::int64_t head = config["attention_head_dim"];
    const std::int64_t in_channels = config["in_channels"];
    const std::int64_t mlp = 4 * hidden;
    std::map<std::string, std::vector<std::int64_t>> expected;
    const auto linear = [&](const std::string& name, std::int64_t out, std::int64_t in) {
      expected[name + ".weight"] = {out, in};
      expected[name + ".bias"] = {out};
    };
    linear("x_embedder", hidden, in_channels);
    linear("context_embedder", hidden, config["joint_attention_dim"]);
    linear("proj_out", in_channels, hidden);  // out_channels null: in_channels, patch 1
    linear("norm_out.linear", 2 * hidden, hidden);
    linear("time_text_embed.timestep_embedder.linear_1", hidden, 256);
    linear("time_text_embed.timestep_embedder.linear_2", hidden, hidden);
    linear("time_text_embed.guidance_embedder.linear_1", hidden, 256);
    linear("time_text_embed.guidance_embedder.linear_2", hidden, hidden);
    linear("time_text_embed.text_embedder.linear_1", hidden, config["pooled_projection_dim"]);
    linear("time_text_embed.text_embedder.linear_2", hidden, hidden);
    for (int i = 0; i < config["num_layers"].get<int>(); ++i) {
      const std::string block = "transformer_blocks." + std::to_string(i) + ".";
      for (const char* name : {"to_q", "to_k", "to_v", "add_q_proj", "add_k_proj", "add_v_proj",
                               "to_out.0", "to_add_out"}) {
        linear(block + "attn." + name, hidden, hidden);
      }
      for (const char* name : {"norm_q", "norm_k", "norm_added_q", "norm_added_k"}) {
        expected[block + "attn." + name + ".weight"] = {head};
      }
      linear(block + "norm1.linear", 6 * hidden, hidden);
      linear(block + "norm1_context.linear", 6 * hidden, hidden);
      for (const char* ff : {"ff", "ff_context"}) {
        linear(block + ff + ".net.0.proj", mlp, hidden);
        linear(block + ff + ".net.2", hidden, mlp);
      }
    }
    for (int i = 0; i < config["num_single_layers"].get<int>(); ++i) {
      const std::string block = "single_transformer_blocks." + std::to_string(i) + ".";
      for (const char* name : {"to_q", "to_k", "to_v"}) linear(block + "attn." + name, hidden, hidden);
      expected[block + "attn.norm_q.weight"] = {head};
      expected[block + "attn.norm_k.weight"] = {head};
      linear(block + "norm.linear", 3 * hidden, hidden);
      linear(block + "proj_mlp", mlp, hidden);
      linear(block + "proj_out", hidden, hidden + mlp);
    }

    auto transformer = omni::TensorSource::open(root / "transformer");
    std::vector<std::string> expected_names;
    for (const auto& entry : expected) expected_names.push_back(entry.first);
    CHECK(transformer->names() == expected_names);
    CHECK(transformer->metadata().at("format") == "pt");
    for (const std::string& name : transformer->names()) {
      CAPTURE(name);
      const omni::TensorInfo& info = transformer->info(name);
      CHECK(info.dtype == "F32");
      CHECK(info.shape == expected[name]);
      at::Tensor tensor = transformer->tensor(name);
      CHECK(tensor.sizes().vec() == info.shape);
      CHECK((tensor.scalar_type() == at::kFloat));
      CHECK(bool(at::isfinite(tensor).all().item<bool>()));
    }

    const nlohmann::json vae_config = read_config("vae");
    const auto channels = vae_config["block_out_channels"].get<std::vector<std::int64_t>>();
    const std::int64_t latent = vae_config["latent_channels"];
    auto vae = omni::TensorSource::open(root / "vae");
    CHECK(vae->names().size() == 176);
    CHECK(vae->info("encoder.conv_in.weight").shape ==
          std::vector<std::int64_t>{channels.front(), vae_config["in_channels"], 3, 3});
    CHECK(vae->info("encoder.conv_out.weight").shape ==
          std::vector<std::int64_t>{2 * latent, channels.back(), 3, 3});
    CHECK(vae->info("decoder.conv_in.weight").shape ==
          std::vector<std::int64_t>{channels.back(), latent, 3, 3});
    CHECK(vae->info("decoder.conv_out.weight").shape ==
          std::vector<std::int64_t>{vae_config["out_channels"], channels.front(), 3, 3});
    for (const std::string& name : vae->names()) {
      CAPTURE(name);
      const omni::TensorInfo& info = vae->info(name);
      CHECK(info.dtype == "F32");
      CHECK(vae->tensor(name).sizes().vec() == info.shape);
      CHECK(info.end - info.begin ==
            4 * static_cast<std::uint64_t>(c10::multiply_integers(info.shape)));
    }
  }

  TEST_CASE("every validation rule fails with a message naming the file and tensor") {
    omni::test::TempDir dir;
    const std::string f32x2 = R"("dtype":"F32","shape":[2])";
    struct Case {
      const char* what;
      std::string bytes;
      std::vector<std::string> expected;
    };
    const std::vector<Case> cases = {
        {"empty file", "", {"too few for the 8-byte header length"}},
        {"header longer than the file", raw_file("{}", "", 4096), {"larger than the file"}},
        {"header over 100 MB", raw_file("{}", "", 200'000'000), {"exceeds the 100 MB limit"}},
        {"header not UTF-8", raw_file("{\"a\xff\":1}"), {"not valid UTF-8", "byte 3"}},
        {"overlong UTF-8", raw_file("{\"\xc0\xaf\":1}"), {"not valid UTF-8"}},
        {"header not JSON", raw_file("{\"a\": "), {"not valid JSON"}},
        {"header not an object", raw_file("[1, 2]"), {"not a JSON object"}},
        {"unknown dtype",
         raw_file(R"({"w":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}})", "abcd"),
         {"tensor 'w'", "unknown dtype 'F33'", "BF16"}},
        {"size mismatch",
         raw_file(R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}})",
                  std::string(12, 'x')),
         {"tensor 'w'", "needs 16 bytes but data_offsets [0, 12] span 12"}},
        {"offsets past the end",
         raw_file("{\"w\":{" + f32x2 + R"(,"data_offsets":[0,8]}})", "abcd"),
         {"tensor 'w'", "run past the end of the data section (4 bytes)"}},
        {"offsets reversed",
         raw_file(R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", std::string(8, 'x')),
         {"tensor 'w'", "end before they begin"}},
        {"overlap",
         raw_file("{\"a\":{" + f32x2 + R"(,"data_offsets":[0,8]},"b":{)" + f32x2 +
                      R"(,"data_offsets":[4,12]}})",
                  std::string(12, 'x')),
         {"tensor 'b'", "overlap those of tensor 'a'"}},
        {"gap",
         raw_file("{\"a\":{" + f32x2 + R"(,"data_offsets":[0,8]},"b":{)" + f32x2 +
                      R"(,"data_offsets":[12,20]}})",
                  std::string(20, 'x')),
         {"bytes [8, 12) of the data section belong to no tensor"}},
        {"trailing bytes",
         raw_file("{\"a\":{" + f32x2 + R"(,"data_offsets":[0,8]}})", std::string(10, 'x')),
         {"data section has 10 bytes but the tensors cover only the first 8"}},
        {"duplicate name",
         raw_file("{\"a\":{" + f32x2 + R"(,"data_offsets":[0,8]},"a":{)" + f32x2 +
                      R"(,"data_offsets":[8,16]}})",
                  std::string(16, 'x')),
         {"duplicate tensor name 'a'"}},
        {"duplicate key inside an entry",
         raw_file(R"({"a":{"dtype":"F32","dtype":"F16","shape":[2],"data_offsets":[0,8]}})",
                  std::string(8, 'x')),
         {"tensor 'a'", "duplicate key 'dtype'"}},
        {"shape overflow",
         raw_file(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}})"),
         {"tensor 'a'", "overflows"}},
        {"element bytes overflow",
         raw_file(R"({"a":{"dtype":"F64","shape":[2305843009213693952,2],"data_offsets":[0,0]}})"),
         {"tensor 'a'", "overflows"}},
        {"dimension beyond int64",
         raw_file(R"({"a":{"dtype":"U8","shape":[9223372036854775808],"data_offsets":[0,0]}})"),
         {"tensor 'a'", "does not fit int64"}},
        {"negative dimension",
         raw_file(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}})"),
         {"tensor 'a'", "not a non-negative integer"}},
        {"fractional dimension",
         raw_file(R"({"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,0]}})"),
         {"tensor 'a'", "not a non-negative integer"}},
        {"missing key", raw_file(R"({"a":{"dtype":"F32","shape":[]}})"),
         {"tensor 'a'", "missing key 'data_offsets'"}},
        {"unknown key",
         raw_file(R"({"a":{"dtype":"F32","shape":[],"data_offsets":[0,4],"x":1}})", "abcd"),
         {"tensor 'a'", "unexpected key 'x'"}},
        {"bad offsets", raw_file(R"({"a":{"dtype":"F32","shape":[],"data_offsets":[0]}})"),
         {"tensor 'a'", "is not a pair of non-negative integers"}},
        {"metadata not strings", raw_file(R"({"__metadata__":{"n":1}})"),
         {"__metadata__ entry 'n' is not a string"}},
        {"deep nesting", raw_file(R"({"a":{"dtype":[[[1]]]}})"), {"nests JSON deeper"}},
    };
    for (const Case& test : cases) {
      CAPTURE(test.what);
      const fs::path file = dir.write("broken.safetensors", test.bytes);
      const std::string message = error_of([&] { omni::SafetensorsFile::open(file); });
      CHECK_HAS(message, file.string());
      for (const std::string& part : test.expected) CHECK_HAS(message, part);
    }
  }

  TEST_CASE("saving is atomic and leaves no temporary file") {
    omni::test::TempDir dir;
    const fs::path file = dir.path() / "out.safetensors";
    omni::save_safetensors(file, {{"a", at::ones({3})}});
    omni::save_safetensors(file, {{"a", at::zeros({3})}});  // replaces the old file
    CHECK(folder_entries(dir.path()) == std::vector<std::string>{"out.safetensors"});
    CHECK(omni::SafetensorsFile::open(file)->tensor("a").sum().item<float>() == 0.0f);

    // A rename that fails (the name is a non-empty folder) removes the temporary file.
    dir.write("taken.safetensors/keep", "x");
    const std::string rename_error = error_of(
        [&] { omni::save_safetensors(dir.path() / "taken.safetensors", {{"a", at::ones({3})}}); });
    CHECK_HAS(rename_error, "cannot rename into place");
    CHECK(folder_entries(dir.path()) ==
          std::vector<std::string>{"out.safetensors", "taken.safetensors"});

    CHECK_HAS(error_of([&] {
                omni::save_safetensors(dir.path() / "c.safetensors",
                                       {{"c", at::ones({2}, at::kComplexFloat)}});
              }),
              "tensor 'c': dtype ComplexFloat has no safetensors equivalent");
    CHECK_HAS(error_of([&] {
                omni::save_safetensors(dir.path() / "d.safetensors",
                                       {{"d", at::ones({1})}, {"d", at::ones({1})}});
              }),
              "tensor 'd': the name appears twice");
    CHECK_HAS(error_of([&] {
                omni::save_safetensors(dir.path() / "no" / "such" / "e.safetensors",
                                       {{"e", at::ones({1})}});
              }),
              "cannot create");
    CHECK(folder_entries(dir.path()) ==
          std::vector<std::string>{"out.safetensors", "taken.safetensors"});
  }

  TEST_CASE("every fuzzing corpus input opens or fails with omni::Error") {
    const fs::path corpus = omni::test::source_dir() / "tests" / "data" / "safetensors_corpus";
    REQUIRE(fs::is_directory(corpus));
    std::size_t files = 0, opened = 0;
    for (const auto& entry : fs::directory_iterator(corpus)) {
      if (!entry.is_regular_file()) continue;
      CAPTURE(entry.path().string());
      ++files;
      try {
        auto file = omni::SafetensorsFile::open(entry.path());
        for (const std::string& name : file->names()) {
          try {
            at::Tensor tensor = file->tensor(name);
            CHECK(tensor.numel() * tensor.element_size() ==
                  static_cast<std::int64_t>(file->info(name).end - file->info(name).begin));
            (void)tensor.clone();
          } catch (const omni::Error&) {
            // dtypes this LibTorch lacks (float8 before 2.1)
          }
        }
        ++opened;
      } catch (const omni::Error&) {
      }
    }
    CHECK(files > 10);
    MESSAGE(files << " corpus files, " << opened << " open");
  }
}
