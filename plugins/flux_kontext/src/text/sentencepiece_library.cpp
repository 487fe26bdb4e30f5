#include "text/sentencepiece_library.hpp"

#include <dlfcn.h>

#include <array>

#include <fmt/format.h>

#include "omni/error.hpp"
#include "text/sentencepiece_c_api.h"

namespace flux_kontext {

struct SentencePieceApi {
  decltype(&omni_spm_load) load;
  decltype(&omni_spm_free) free_model;
  decltype(&omni_spm_free_buffer) free_buffer;
  decltype(&omni_spm_piece_count) piece_count;
  decltype(&omni_spm_unk_id) unk_id;
  decltype(&omni_spm_piece_to_id) piece_to_id;
  decltype(&omni_spm_id_to_piece) id_to_piece;
  decltype(&omni_spm_encode) encode;
  decltype(&omni_spm_decode) decode;
  decltype(&omni_spm_train) train;
};

namespace {

constexpr const char* kLibraryName = "libomni_sentencepiece.so";

// Beside libomni_flux_kontext, both in the build tree and once installed. Programs in bin/
// that link the Flux objects directly (the tests, the benchmarks) find it in ../lib, the
// layout both trees share; the name alone is the last resort, searched through the RUNPATH of
// whoever calls dlopen (under AddressSanitizer that is its own runtime, which has none).
std::filesystem::path library_path() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<const void*>(&library_path), &info) != 0 &&
      info.dli_fname != nullptr) {
    const std::filesystem::path folder = std::filesystem::path(info.dli_fname).parent_path();
    for (const std::filesystem::path& candidate :
         {folder / kLibraryName, folder.parent_path() / "lib" / kLibraryName}) {
      std::error_code error;
      if (std::filesystem::exists(candidate, error)) return candidate;
    }
  }
  return kLibraryName;
}

template <typename Function>
void bind(void* library, const char* name, Function& slot, const std::filesystem::path& path) {
  slot = reinterpret_cast<Function>(dlsym(library, name));
  if (slot == nullptr) {
    throw omni::Error(fmt::format("{}: lacks the function {}", path.string(), name));
  }
}

#ifndef OMNI_SENTENCEPIECE_DEEPBIND
#define OMNI_SENTENCEPIECE_DEEPBIND 1
#endif
// The module binds to its own protobuf first (see sentencepiece_c_api.h); sanitized builds,
// whose module hides a static sentencepiece, do without.
constexpr int kDeepBind = OMNI_SENTENCEPIECE_DEEPBIND ? RTLD_DEEPBIND : 0;

// Opened once and never closed: models created from it may live until the process ends.
const SentencePieceApi& api() {
  static const SentencePieceApi loaded = [] {
    const std::filesystem::path path = library_path();
    void* library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | kDeepBind);
    if (library == nullptr) {
      throw omni::Error(fmt::format("Could not load library '{}': {}", path.string(), dlerror()));
    }
    SentencePieceApi functions{};
    bind(library, "omni_spm_load", functions.load, path);
    bind(library, "omni_spm_free", functions.free_model, path);
    bind(library, "omni_spm_free_buffer", functions.free_buffer, path);
    bind(library, "omni_spm_piece_count", functions.piece_count, path);
    bind(library, "omni_spm_unk_id", functions.unk_id, path);
    bind(library, "omni_spm_piece_to_id", functions.piece_to_id, path);
    bind(library, "omni_spm_id_to_piece", functions.id_to_piece, path);
    bind(library, "omni_spm_encode", functions.encode, path);
    bind(library, "omni_spm_decode", functions.decode, path);
    bind(library, "omni_spm_train", functions.train, path);
    return functions;
  }();
  return loaded;
}

using ErrorBuffer = std::array<char, 1024>;

}  // namespace

SentencePieceModel SentencePieceModel::load(const std::filesystem::path& file) {
  const SentencePieceApi& functions = api();
  ErrorBuffer error{};
  omni_spm* handle = nullptr;
  if (functions.load(file.c_str(), &handle, error.data(), error.size()) != 0) {
    throw omni::Error(fmt::format("{}: not a sentencepiece model: {}", file.string(),
                                  error.data()));
  }
  return SentencePieceModel(&functions, std::shared_ptr<omni_spm>(handle, functions.free_model));
}

int SentencePieceModel::piece_count() const { return api_->piece_count(handle_.get()); }
int SentencePieceModel::unk_id() const { return api_->unk_id(handle_.get()); }

int SentencePieceModel::piece_to_id(std::string_view piece) const {
  return api_->piece_to_id(handle_.get(), piece.data(), piece.size());
}

std::string SentencePieceModel::id_to_piece(int id) const {
  std::size_t size = 0;
  const char* piece = api_->id_to_piece(handle_.get(), id, &size);
  return piece == nullptr ? std::string() : std::string(piece, size);
}

std::vector<int> SentencePieceModel::encode(std::string_view text) const {
  ErrorBuffer error{};
  int* ids = nullptr;
  std::size_t count = 0;
  if (api_->encode(handle_.get(), text.data(), text.size(), &ids, &count, error.data(),
                   error.size()) != 0) {
    throw omni::Error(fmt::format("sentencepiece could not encode the text: {}", error.data()));
  }
  std::vector<int> result(ids, ids + count);
  api_->free_buffer(ids);
  return result;
}

std::string SentencePieceModel::decode(const std::vector<int>& ids) const {
  ErrorBuffer error{};
  char* text = nullptr;
  std::size_t size = 0;
  if (api_->decode(handle_.get(), ids.data(), ids.size(), &text, &size, error.data(),
                   error.size()) != 0) {
    throw omni::Error(fmt::format("sentencepiece could not decode the ids: {}", error.data()));
  }
  std::string result(text, size);
  api_->free_buffer(text);
  return result;
}

std::string train_sentencepiece(const std::string& options,
                                const std::vector<std::string_view>& sentences) {
  const SentencePieceApi& functions = api();
  std::vector<const char*> data;
  std::vector<std::size_t> sizes;
  for (std::string_view sentence : sentences) {
    data.push_back(sentence.data());
    sizes.push_back(sentence.size());
  }
  ErrorBuffer error{};
  char* model = nullptr;
  std::size_t model_size = 0;
  if (functions.train(options.c_str(), data.data(), sizes.data(), data.size(), &model,
                      &model_size, error.data(), error.size()) != 0) {
    throw omni::Error(fmt::format("training a sentencepiece model failed: {}", error.data()));
  }
  std::string result(model, model_size);
  functions.free_buffer(model);
  return result;
}

}  // namespace flux_kontext
