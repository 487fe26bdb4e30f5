#pragma once
// libsentencepiece, reached through libomni_sentencepiece (see sentencepiece_c_api.h for why
// it is loaded on its own rather than linked).
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct omni_spm;

namespace flux_kontext {

struct SentencePieceApi;

class SentencePieceModel {
 public:
  // Throws omni::Error naming `file` when it is not a sentencepiece model.
  static SentencePieceModel load(const std::filesystem::path& file);

  int piece_count() const;
  int unk_id() const;
  int piece_to_id(std::string_view piece) const;  // unknown pieces give unk_id()
  std::string id_to_piece(int id) const;
  std::vector<int> encode(std::string_view text) const;
  std::string decode(const std::vector<int>& ids) const;

 private:
  SentencePieceModel(const SentencePieceApi* api, std::shared_ptr<omni_spm> handle)
      : api_(api), handle_(std::move(handle)) {}
  const SentencePieceApi* api_;
  std::shared_ptr<omni_spm> handle_;
};

// Serialized model trained on `sentences` with sentencepiece's command-line `options`.
std::string train_sentencepiece(const std::string& options,
                                const std::vector<std::string_view>& sentences);

}  // namespace flux_kontext
