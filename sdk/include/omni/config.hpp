#pragma once
// Strict configuration over yaml-cpp.
//
// A ConfigDocument owns the parsed YAML (after `--set` overrides and `${a.b}` references are
// applied). Schemas read it through ConfigView: every read names a key, checks its type and
// records that the key is known. After all schemas have run, check_unknown_keys() reports
// every key that no schema asked for, with its file:line:column and the keys that were
// expected there (the pattern of LLVM's YAMLTraits endMapping).
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "omni/error.hpp"
#include "omni/export.hpp"

namespace omni {

class ConfigView;
struct ConfigDocumentState;

class OMNI_API ConfigDocument {
 public:
  // Reads a YAML file. Errors (missing or empty file, syntax error) name the file.
  static ConfigDocument from_file(const std::filesystem::path& file);
  // Parses YAML text; `origin` stands for the file name in messages.
  static ConfigDocument from_string(std::string_view yaml, std::string origin = "<string>");

  // Applies `key.path=value` (value parsed as YAML). Must come before resolve_references().
  void apply_override(std::string_view assignment);
  // Replaces `${key.path}` in string values by the scalar at that path.
  void resolve_references();

  // By default a device string naming a device this process cannot use (`cuda:2` without
  // CUDA) is an error; with `strict == false` it becomes a warning (see warnings()).
  void set_strict_devices(bool strict);
  const std::vector<std::string>& warnings() const;

  // Collecting mode, for validating a whole config in one pass: a wrong type, a missing
  // required key, a value outside an enum or a bad device is recorded (the read returns the
  // fallback, or an empty value) instead of thrown, and check_unknown_keys() or
  // throw_with_problems() reports all of them at once. Checks made through
  // ConfigView::fail() still throw, since the schema cannot go on past them.
  void collect_problems(bool collect);

  ConfigView root() const;
  // Throws one ConfigError listing every recorded problem and every key no schema read,
  // in the order of the file. Call after validation.
  void check_unknown_keys() const;
  // Throws one ConfigError listing the recorded problems and then `interrupted`, the error
  // that stopped the schema (unknown keys are not listed: the schema did not finish).
  [[noreturn]] void throw_with_problems(const ConfigError& interrupted) const;
  // The key paths that schemas asked for so far, e.g. "train.log_every" or
  // "validation.dataset.init_args.dataset_path" (sequence items read as "key[]").
  std::vector<std::string> read_keys() const;

  const std::string& origin() const;
  // The document as YAML text, e.g. to store a copy of the config in a checkpoint.
  std::string to_yaml() const;

 private:
  explicit ConfigDocument(std::shared_ptr<ConfigDocumentState> state);
  std::shared_ptr<ConfigDocumentState> state_;
};

// A mapping (or sequence item) inside a document. Cheap to copy; keeps the document alive.
class OMNI_API ConfigView {
 public:
  ConfigView(const ConfigView&) = default;
  // Rebinds this view to `other`'s node. (YAML::Node's own operator= writes through to the
  // node it refers to: assigning a view would overwrite that part of the document.)
  ConfigView& operator=(const ConfigView& other) {
    state_ = other.state_;
    node_.reset(other.node_);
    path_ = other.path_;
    return *this;
  }

  // Key path of this node, e.g. "model.lora" ("" for the root).
  const std::string& path() const { return path_; }
  // "file:line:column" of this node (or of the `--set` that wrote it).
  std::string location() const;

  bool has(std::string_view key) const;  // present and not null

  template <class T>
  T get(std::string_view key) const;  // required
  template <class T>
  T get(std::string_view key, const T& fallback) const;  // optional (absent or null)
  template <class T>
  std::optional<T> get_optional(std::string_view key) const;

  // A string restricted to `allowed`; the error lists them.
  std::string get_enum(std::string_view key, std::initializer_list<std::string_view> allowed,
                       std::optional<std::string_view> fallback = std::nullopt) const;
  // A device string: "cpu", "cuda" or "cuda:N"; checked at validation time, so a `cuda:N`
  // on a build or machine without CUDA is an error before any work starts.
  std::string get_device(std::string_view key, std::string_view fallback) const;

  ConfigView child(std::string_view key) const;  // required mapping
  std::optional<ConfigView> optional_child(std::string_view key) const;
  // A mapping that may be absent: absent reads as an empty mapping, so every get() with a
  // fallback works on it and required keys report the missing section.
  ConfigView child_or_empty(std::string_view key) const;
  // Items of a sequence of mappings, each a view with path "key[i]".
  std::vector<ConfigView> items(std::string_view key) const;

  // Records a warning (shown by `omnihost validate` and at the start of a run).
  void warn(std::string_view key, const std::string& message) const;

  // For free-form mappings (names chosen by the user): every key here counts as known.
  void accept_any_keys() const;

  // An error about `key` of this mapping, located at the key when present.
  [[noreturn]] void fail(std::string_view key, const std::string& message) const;

  const YAML::Node& node() const { return node_; }

 private:
  friend class ConfigDocument;
  ConfigView(std::shared_ptr<ConfigDocumentState> state, YAML::Node node, std::string path);
  YAML::Node lookup(std::string_view key) const;  // records the key as known
  std::string key_path(std::string_view key) const;
  std::string location_of(std::string_view key) const;
  // A problem with `key`: thrown, or recorded when the document collects problems.
  void report(std::string_view key, const std::string& message) const;

  std::shared_ptr<ConfigDocumentState> state_;
  YAML::Node node_;
  std::string path_;
};

// Instantiated in config_view.cpp for: bool, int, long, double, std::string,
// std::filesystem::path, std::vector<std::string>, std::vector<int>, std::vector<double>,
// std::vector<std::vector<int>>.
#define OMNI_DECLARE_CONFIG_GET(T)                                                  \
  extern template OMNI_API T ConfigView::get<T>(std::string_view) const;            \
  extern template OMNI_API T ConfigView::get<T>(std::string_view, const T&) const;  \
  extern template OMNI_API std::optional<T> ConfigView::get_optional<T>(std::string_view) const;
OMNI_DECLARE_CONFIG_GET(bool)
OMNI_DECLARE_CONFIG_GET(int)
OMNI_DECLARE_CONFIG_GET(long)
OMNI_DECLARE_CONFIG_GET(double)
OMNI_DECLARE_CONFIG_GET(std::string)
OMNI_DECLARE_CONFIG_GET(std::filesystem::path)
OMNI_DECLARE_CONFIG_GET(std::vector<std::string>)
OMNI_DECLARE_CONFIG_GET(std::vector<int>)
OMNI_DECLARE_CONFIG_GET(std::vector<double>)
OMNI_DECLARE_CONFIG_GET(std::vector<std::vector<int>>)
#undef OMNI_DECLARE_CONFIG_GET

}  // namespace omni
