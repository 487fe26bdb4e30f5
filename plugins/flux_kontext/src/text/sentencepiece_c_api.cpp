// libomni_sentencepiece: see sentencepiece_c_api.h for why this is a library of its own.
#include "text/sentencepiece_c_api.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#define OMNI_SPM_API extern "C" __attribute__((visibility("default")))

// Exported by libsentencepiece (0.1.97 in Debian 12, 0.2 in Debian 13) but missing from its
// installed headers. The trainer logs its whole command line at INFO before it parses the
// --minloglevel in that command line, so the level is set here instead.
namespace sentencepiece::logging {
void SetMinLogLevel(int level);
}

struct omni_spm {
  sentencepiece::SentencePieceProcessor processor;
};

namespace {

int fail(const std::string& message, char* error, std::size_t error_size) {
  if (error != nullptr && error_size > 0) {
    const std::size_t length = std::min(message.size(), error_size - 1);
    std::memcpy(error, message.data(), length);
    error[length] = '\0';
  }
  return 1;
}

template <typename T>
T* copy_to_malloc(const T* data, std::size_t count) {
  auto* buffer = static_cast<T*>(std::malloc(std::max<std::size_t>(count, 1) * sizeof(T)));
  if (buffer == nullptr) throw std::bad_alloc();
  if (count > 0) std::memcpy(buffer, data, count * sizeof(T));
  return buffer;
}

class VectorIterator : public sentencepiece::SentenceIterator {
 public:
  explicit VectorIterator(std::vector<std::string> sentences)
      : sentences_(std::move(sentences)) {}
  bool done() const override { return at_ >= sentences_.size(); }
  void Next() override { ++at_; }
  const std::string& value() const override { return sentences_[at_]; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  std::vector<std::string> sentences_;
  std::size_t at_ = 0;
};

}  // namespace

OMNI_SPM_API int omni_spm_load(const char* path, omni_spm** model, char* error,
                               std::size_t error_size) {
  try {
    auto loaded = std::make_unique<omni_spm>();
    const auto status = loaded->processor.Load(path);
    if (!status.ok()) return fail(status.message(), error, error_size);
    *model = loaded.release();
    return 0;
  } catch (const std::exception& exception) {
    return fail(exception.what(), error, error_size);
  }
}

OMNI_SPM_API void omni_spm_free(omni_spm* model) { delete model; }
OMNI_SPM_API void omni_spm_free_buffer(void* buffer) { std::free(buffer); }

OMNI_SPM_API int omni_spm_piece_count(const omni_spm* model) {
  return model->processor.GetPieceSize();
}

OMNI_SPM_API int omni_spm_unk_id(const omni_spm* model) { return model->processor.unk_id(); }

OMNI_SPM_API int omni_spm_piece_to_id(const omni_spm* model, const char* piece,
                                      std::size_t size) {
  return model->processor.PieceToId(absl::string_view(piece, size));
}

OMNI_SPM_API const char* omni_spm_id_to_piece(const omni_spm* model, int id,
                                              std::size_t* size) {
  if (id < 0 || id >= model->processor.GetPieceSize()) return nullptr;
  const std::string& piece = model->processor.IdToPiece(id);
  *size = piece.size();
  return piece.data();
}

OMNI_SPM_API int omni_spm_encode(const omni_spm* model, const char* text, std::size_t size,
                                 int** ids, std::size_t* count, char* error,
                                 std::size_t error_size) {
  try {
    std::vector<int> encoded;
    const auto status = model->processor.Encode(absl::string_view(text, size), &encoded);
    if (!status.ok()) return fail(status.message(), error, error_size);
    *ids = copy_to_malloc(encoded.data(), encoded.size());
    *count = encoded.size();
    return 0;
  } catch (const std::exception& exception) {
    return fail(exception.what(), error, error_size);
  }
}

OMNI_SPM_API int omni_spm_decode(const omni_spm* model, const int* ids, std::size_t count,
                                 char** text, std::size_t* size, char* error,
                                 std::size_t error_size) {
  try {
    std::string decoded;
    const auto status = model->processor.Decode(std::vector<int>(ids, ids + count), &decoded);
    if (!status.ok()) return fail(status.message(), error, error_size);
    *text = copy_to_malloc(decoded.data(), decoded.size());
    *size = decoded.size();
    return 0;
  } catch (const std::exception& exception) {
    return fail(exception.what(), error, error_size);
  }
}

OMNI_SPM_API int omni_spm_train(const char* options, const char* const* sentences,
                                const std::size_t* sizes, std::size_t count, char** model,
                                std::size_t* model_size, char* error, std::size_t error_size) {
  try {
    std::vector<std::string> lines;
    lines.reserve(count);
    for (std::size_t i = 0; i < count; ++i) lines.emplace_back(sentences[i], sizes[i]);
    VectorIterator iterator(std::move(lines));
    std::string serialized;
    sentencepiece::logging::SetMinLogLevel(2);  // 0 INFO, 1 WARNING, 2 ERROR
    const auto status =
        sentencepiece::SentencePieceTrainer::Train(options, &iterator, &serialized);
    if (!status.ok()) return fail(status.message(), error, error_size);
    *model = copy_to_malloc(serialized.data(), serialized.size());
    *model_size = serialized.size();
    return 0;
  } catch (const std::exception& exception) {
    return fail(exception.what(), error, error_size);
  }
}
