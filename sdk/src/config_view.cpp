// ConfigView: typed, strict reads of one mapping of a ConfigDocument.
#include <cerrno>
#include <climits>
#include <cstdlib>

#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "config_state.hpp"
#include "omni/config.hpp"
#include "omni/device.hpp"

namespace omni {
namespace {

std::string describe(const YAML::Node& node) {
  if (node.IsMap()) return "a mapping";
  if (node.IsSequence()) return "a list";
  if (node.IsNull()) return "nothing";
  return fmt::format("'{}'", node.Scalar());
}

// Converts one YAML node; returns false (with `expected` set) when the node does not fit.
bool decode(const YAML::Node& node, bool& out, std::string& expected) {
  expected = "true or false";
  return node.IsScalar() && YAML::convert<bool>::decode(node, out);
}

bool decode(const YAML::Node& node, long& out, std::string& expected) {
  expected = "an integer";
  if (!node.IsScalar() || node.Scalar().empty()) return false;
  const std::string& text = node.Scalar();
  char* end = nullptr;
  errno = 0;
  long long value = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0') return false;
  out = static_cast<long>(value);
  return true;
}

bool decode(const YAML::Node& node, int& out, std::string& expected) {
  long wide = 0;
  if (!decode(node, wide, expected)) return false;
  if (wide < INT_MIN || wide > INT_MAX) {
    expected = "an integer that fits in 32 bits";
    return false;
  }
  out = static_cast<int>(wide);
  return true;
}

bool decode(const YAML::Node& node, double& out, std::string& expected) {
  expected = "a number";
  if (!node.IsScalar() || node.Scalar().empty()) return false;
  const std::string& text = node.Scalar();
  char* end = nullptr;
  errno = 0;
  out = std::strtod(text.c_str(), &end);
  return errno == 0 && *end == '\0';
}

bool decode(const YAML::Node& node, std::string& out, std::string& expected) {
  expected = "a string";
  if (!node.IsScalar()) return false;
  out = node.Scalar();
  return true;
}

bool decode(const YAML::Node& node, std::filesystem::path& out, std::string& expected) {
  std::string text;
  bool ok = decode(node, text, expected);
  expected = "a path";
  if (ok) out = text;
  return ok;
}

// A list; a single value counts as a list of one (upstream configs write both).
template <class Item>
bool decode(const YAML::Node& node, std::vector<Item>& out, std::string& expected) {
  std::string item_expected;
  out.clear();
  if (node.IsScalar()) {
    Item item{};
    bool ok = decode(node, item, item_expected);
    expected = "a list of " + item_expected;
    if (ok) out.push_back(item);
    return ok;
  }
  Item probe{};
  decode(YAML::Node(), probe, item_expected);
  expected = "a list of values (" + item_expected + ")";
  if (!node.IsSequence()) return false;
  for (const YAML::Node& element : node) {
    Item item{};
    if (!decode(element, item, item_expected)) return false;
    out.push_back(std::move(item));
  }
  return true;
}

}  // namespace

ConfigView::ConfigView(std::shared_ptr<ConfigDocumentState> state, YAML::Node node,
                       std::string path)
    : state_(std::move(state)), node_(std::move(node)), path_(std::move(path)) {}

std::string ConfigView::location() const { return state_->location(node_, path_, {}); }

std::string ConfigView::key_path(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

YAML::Node ConfigView::lookup(std::string_view key) const {
  state_->known_keys[path_].insert(std::string(key));
  if (!node_.IsMap()) return YAML::Node();
  const YAML::Node& constant = node_;
  return constant[std::string(key)];
}

std::string ConfigView::location_of(std::string_view key) const {
  if (node_.IsMap()) {
    for (auto it = node_.begin(); it != node_.end(); ++it) {
      if (it->first.Scalar() == key) {
        return state_->location(it->first, key_path(key), location());
      }
    }
  }
  return state_->location(YAML::Node(), key_path(key), location());
}

void ConfigView::fail(std::string_view key, const std::string& message) const {
  // A key whose read already failed holds a stand-in value: a check on it would only repeat
  // the first problem, so it rethrows that one (throw_with_problems drops the repeat).
  auto earlier = state_->failed_keys.find(key_path(key));
  if (earlier != state_->failed_keys.end()) throw ConfigError(earlier->second);
  throw ConfigError(fmt::format("{}: {}: {}", location_of(key), key_path(key), message));
}

void ConfigView::report(std::string_view key, const std::string& message) const {
  state_->report(key_path(key), fmt::format("{}: {}: {}", location_of(key), key_path(key), message));
}

bool ConfigView::has(std::string_view key) const {
  YAML::Node value = lookup(key);
  return value.IsDefined() && !value.IsNull();
}

template <class T>
std::optional<T> ConfigView::get_optional(std::string_view key) const {
  YAML::Node value = lookup(key);
  if (!value.IsDefined() || value.IsNull()) return std::nullopt;
  T out{};
  std::string expected;
  if (!decode(value, out, expected)) {
    report(key, fmt::format("expected {}, got {}", expected, describe(value)));
    return std::nullopt;  // collecting: the caller goes on with its fallback
  }
  return out;
}

template <class T>
T ConfigView::get(std::string_view key) const {
  std::optional<T> value = get_optional<T>(key);
  if (!value) {
    if (state_->failed_keys.count(key_path(key))) return T{};  // already reported
    T probe{};
    std::string expected;
    decode(YAML::Node(), probe, expected);
    state_->report(key_path(key), fmt::format("{}: missing required key '{}' ({})", location(),
                                              key_path(key), expected));
    return T{};
  }
  return *value;
}

template <class T>
T ConfigView::get(std::string_view key, const T& fallback) const {
  std::optional<T> value = get_optional<T>(key);
  return value ? *value : fallback;
}

#define OMNI_DEFINE_CONFIG_GET(T)                                                    \
  template OMNI_API T ConfigView::get<T>(std::string_view) const;                    \
  template OMNI_API T ConfigView::get<T>(std::string_view, const T&) const;          \
  template OMNI_API std::optional<T> ConfigView::get_optional<T>(std::string_view) const;
OMNI_DEFINE_CONFIG_GET(bool)
OMNI_DEFINE_CONFIG_GET(int)
OMNI_DEFINE_CONFIG_GET(long)
OMNI_DEFINE_CONFIG_GET(double)
OMNI_DEFINE_CONFIG_GET(std::string)
OMNI_DEFINE_CONFIG_GET(std::filesystem::path)
OMNI_DEFINE_CONFIG_GET(std::vector<std::string>)
OMNI_DEFINE_CONFIG_GET(std::vector<int>)
OMNI_DEFINE_CONFIG_GET(std::vector<double>)
OMNI_DEFINE_CONFIG_GET(std::vector<std::vector<int>>)
#undef OMNI_DEFINE_CONFIG_GET

std::string ConfigView::get_enum(std::string_view key,
                                 std::initializer_list<std::string_view> allowed,
                                 std::optional<std::string_view> fallback) const {
  // Collecting, a missing or unknown value reads as the fallback, or the first allowed one.
  std::string stand_in(fallback ? *fallback : *allowed.begin());
  std::optional<std::string> value = get_optional<std::string>(key);
  if (!value) {
    if (fallback || state_->failed_keys.count(key_path(key))) return stand_in;
    state_->report(key_path(key), fmt::format("{}: missing required key '{}' (one of: {})",
                                              location(), key_path(key), fmt::join(allowed, ", ")));
    return stand_in;
  }
  for (std::string_view candidate : allowed) {
    if (*value == candidate) return *value;
  }
  report(key, fmt::format("unknown value '{}'; expected one of: {}", *value,
                          fmt::join(allowed, ", ")));
  return stand_in;
}

std::string ConfigView::get_device(std::string_view key, std::string_view fallback) const {
  std::string text = get<std::string>(key, std::string(fallback));
  if (std::string problem = check_device_syntax(text); !problem.empty()) {
    report(key, problem);
    return "cpu";  // collecting: a stand-in that every build can use
  }
  if (std::string problem = check_device(text); !problem.empty()) {
    // Unavailable here (no CUDA): an error for a run, a warning for `omnihost validate`, so
    // a config written for a GPU machine can be checked on a laptop.
    if (state_->strict_devices) {
      report(key, problem);
      return "cpu";
    }
    state_->warnings.push_back(fmt::format("{}: {}: {}", location_of(key), key_path(key), problem));
  }
  return text;
}

ConfigView ConfigView::child(std::string_view key) const {
  std::optional<ConfigView> found = optional_child(key);
  if (!found) {
    if (!state_->failed_keys.count(key_path(key))) {
      state_->report(key_path(key), fmt::format("{}: missing required section '{}' (a mapping)",
                                                location(), key_path(key)));
    }
    return ConfigView(state_, YAML::Node(YAML::NodeType::Map), key_path(key));
  }
  return *found;
}

std::optional<ConfigView> ConfigView::optional_child(std::string_view key) const {
  YAML::Node value = lookup(key);
  if (!value.IsDefined() || value.IsNull()) return std::nullopt;
  if (!value.IsMap()) {
    report(key, fmt::format("expected a mapping, got {}", describe(value)));
    return std::nullopt;
  }
  return ConfigView(state_, value, key_path(key));
}

ConfigView ConfigView::child_or_empty(std::string_view key) const {
  if (std::optional<ConfigView> found = optional_child(key)) return *found;
  // An absent section: reads fall back to defaults; errors point at the parent.
  return ConfigView(state_, YAML::Node(YAML::NodeType::Map), key_path(key));
}

std::vector<ConfigView> ConfigView::items(std::string_view key) const {
  YAML::Node value = lookup(key);
  std::vector<ConfigView> views;
  if (!value.IsDefined() || value.IsNull()) return views;
  if (!value.IsSequence()) {
    report(key, fmt::format("expected a list of mappings, got {}", describe(value)));
    return views;
  }
  for (std::size_t i = 0; i < value.size(); ++i) {
    YAML::Node item = value[i];
    std::string item_path = fmt::format("{}[{}]", key_path(key), i);
    if (!item.IsMap()) {
      state_->report(item_path, fmt::format("{}: {}: expected a mapping, got {}",
                                            state_->location(item, item_path, location()),
                                            item_path, describe(item)));
      continue;
    }
    views.push_back(ConfigView(state_, item, item_path));
  }
  return views;
}

void ConfigView::warn(std::string_view key, const std::string& message) const {
  state_->warnings.push_back(fmt::format("{}: {}: {}", location_of(key), key_path(key), message));
}

void ConfigView::accept_any_keys() const { state_->free_form.insert(path_); }

}  // namespace omni
