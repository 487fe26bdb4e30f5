// ConfigDocument: loading, `--set` overrides, `${a.b}` references and the unknown-key check.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>

#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "config_state.hpp"
#include "omni/config.hpp"
#include "omni/utf8.hpp"

namespace omni {
namespace {

// YAML allows only printable characters (YAML 1.2, 5.1: tab, line breaks, U+0020-U+007E, U+0085,
// U+00A0-U+D7FF, U+E000-U+FFFD, U+10000 and above) in well-formed UTF-8. yaml-cpp reads other
// bytes without complaint but then writes a document it cannot read back, which would break
// the copy of the config stored in every checkpoint. "" when `text` is printable, otherwise
// "<line>:<column>: <what>".
std::string unprintable_character(std::string_view text) {
  std::size_t line = 1, column = 1;
  for (std::size_t at = 0; at < text.size();) {
    const Utf8Sequence sequence = next_utf8_sequence(text, at);
    const char32_t c = sequence.code_point;
    if (!sequence.well_formed) {
      return fmt::format("{}:{}: byte 0x{:02x} is not valid UTF-8 (YAML text must be UTF-8)", line,
                         column, static_cast<unsigned char>(text[at]));
    }
    const bool printable = c == 0x09 || c == 0x0A || c == 0x0D || (c >= 0x20 && c <= 0x7E) ||
                           c == 0x85 || (c >= 0xA0 && c <= 0xD7FF) ||
                           (c >= 0xE000 && c <= 0xFFFD) || c >= 0x10000;
    if (!printable) {
      return fmt::format("{}:{}: control character U+{:04X} is not allowed in YAML", line, column,
                         static_cast<std::uint32_t>(c));
    }
    if (c == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
    at += sequence.length;
  }
  return {};
}

std::vector<std::string> split_key_path(std::string_view path) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = path.find('.', start);
    parts.emplace_back(path.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return parts;
}

std::string join_path(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

// The line of a message that starts with "origin:line:column:", for ordering problems as
// they appear in the file; messages about --set overrides (no line) come first.
long line_of(const std::string& message, const std::string& origin) {
  if (message.compare(0, origin.size() + 1, origin + ":") != 0) return 0;
  return std::strtol(message.c_str() + origin.size() + 1, nullptr, 10);
}

[[noreturn]] void throw_problems(std::vector<std::string> problems, const std::string& origin) {
  std::stable_sort(problems.begin(), problems.end(), [&](const auto& a, const auto& b) {
    return line_of(a, origin) < line_of(b, origin);
  });
  std::string heading = problems.size() == 1
                            ? std::string()
                            : fmt::format("{}: {} problems:\n", origin, problems.size());
  throw ConfigError(heading + fmt::format("{}", fmt::join(problems, "\n")));
}

}  // namespace

void ConfigDocumentState::report(const std::string& key_path, const std::string& message) {
  if (!collect_problems) throw ConfigError(message);
  if (failed_keys.emplace(key_path, message).second) problems.push_back(message);
}

std::string ConfigDocumentState::location(const YAML::Node& node, const std::string& path,
                                          const std::string& fallback) const {
  // A value written by --set has no place in the file: name the override instead.
  std::string prefix = path;
  while (true) {
    auto found = overrides.find(prefix);
    if (found != overrides.end()) return "--set " + found->second;
    std::size_t cut = prefix.find_last_of(".[");
    if (cut == std::string::npos) break;
    prefix.resize(cut);
  }
  if (node.IsDefined() && !node.Mark().is_null()) {
    return fmt::format("{}:{}:{}", origin, node.Mark().line + 1, node.Mark().column + 1);
  }
  return fallback.empty() ? origin : fallback;
}

ConfigDocument::ConfigDocument(std::shared_ptr<ConfigDocumentState> state)
    : state_(std::move(state)) {}

ConfigDocument ConfigDocument::from_string(std::string_view yaml, std::string origin) {
  auto state = std::make_shared<ConfigDocumentState>();
  state->origin = std::move(origin);
  if (std::string problem = unprintable_character(yaml); !problem.empty()) {
    throw ConfigError(fmt::format("{}:{}", state->origin, problem));
  }
  try {
    state->root = YAML::Load(std::string(yaml));
  } catch (const YAML::ParserException& e) {
    throw ConfigError(fmt::format("{}:{}:{}: YAML syntax error: {}", state->origin,
                                  e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  if (!state->root.IsDefined() || state->root.IsNull()) {
    throw ConfigError(fmt::format("{}: the config is empty; expected a YAML mapping of sections",
                                  state->origin));
  }
  if (!state->root.IsMap()) {
    throw ConfigError(fmt::format("{}: expected a YAML mapping of sections at the top level",
                                  state->origin));
  }
  return ConfigDocument(std::move(state));
}

ConfigDocument ConfigDocument::from_file(const std::filesystem::path& file) {
  std::error_code error;
  if (!std::filesystem::exists(file, error)) {
    throw ConfigError(fmt::format("{}: no such config file", file.string()));
  }
  if (std::filesystem::is_directory(file, error)) {
    throw ConfigError(fmt::format("{}: is a directory, expected a YAML config file",
                                  file.string()));
  }
  std::ifstream stream(file, std::ios::binary);
  if (!stream) throw ConfigError(fmt::format("{}: cannot open the config file", file.string()));
  std::ostringstream text;
  text << stream.rdbuf();
  return from_string(text.str(), file.string());
}

void ConfigDocument::apply_override(std::string_view assignment) {
  // Checked whole: the key path ends up in the document too.
  if (std::string problem = unprintable_character(assignment); !problem.empty()) {
    throw ConfigError(fmt::format("--set: in the assignment at {}", problem));
  }
  std::size_t equals = assignment.find('=');
  if (equals == std::string_view::npos || equals == 0) {
    throw ConfigError(fmt::format("--set {}: expected key.path=value", assignment));
  }
  std::string key_path(assignment.substr(0, equals));
  std::string value_text(assignment.substr(equals + 1));
  std::vector<std::string> parts = split_key_path(key_path);
  for (const std::string& part : parts) {
    if (part.empty()) {
      throw ConfigError(fmt::format("--set {}: empty key in '{}'", assignment, key_path));
    }
  }
  YAML::Node value;
  try {
    value = YAML::Load(value_text);
  } catch (const YAML::Exception&) {
    value = YAML::Node(value_text);  // not YAML: keep the text as a plain string
  }
  if (!value.IsDefined()) value = YAML::Node(YAML::NodeType::Null);

  // Walk down the mappings that exist, then hang the missing levels, built bottom-up, on
  // the deepest one. (Creating levels top-down through yaml-cpp's operator[] loses all but
  // the first: `--set loss.init_args.eps=1` once set loss.eps.)
  YAML::Node current = state_->root;
  std::string walked;
  std::size_t depth = 0;
  for (; depth + 1 < parts.size(); ++depth) {
    const YAML::Node& constant = current;
    YAML::Node next = constant[parts[depth]];
    if (!next.IsDefined() || next.IsNull()) break;
    walked = join_path(walked, parts[depth]);
    if (!next.IsMap()) {
      throw ConfigError(fmt::format("--set {}: '{}' is not a mapping, cannot set '{}' inside it",
                                    assignment, walked, parts[depth + 1]));
    }
    current.reset(next);  // rebind: yaml-cpp's operator= would overwrite the parent
  }
  YAML::Node subtree = value;
  for (std::size_t level = parts.size() - 1; level > depth; --level) {
    YAML::Node mapping(YAML::NodeType::Map);
    mapping[parts[level]] = subtree;
    subtree.reset(mapping);  // rebind, not assign: assigning would overwrite the value node
  }
  current[parts[depth]] = subtree;
  state_->overrides[key_path] = std::string(assignment);
}

void ConfigDocument::resolve_references() {
  auto& state = *state_;
  // Resolves the text of one scalar; `active` holds the paths being resolved (cycles).
  std::function<std::string(const std::string&, const std::string&, std::vector<std::string>&)>
      expand;
  std::function<YAML::Node(const std::string&)> find = [&](const std::string& path) {
    YAML::Node node = state.root;
    for (const std::string& part : split_key_path(path)) {
      if (!node.IsMap()) return YAML::Node();
      const YAML::Node& constant = node;
      YAML::Node next = constant[part];
      if (!next.IsDefined()) return YAML::Node();
      node.reset(next);  // rebinds the handle; `node = next` would overwrite the node itself
    }
    return node;
  };
  expand = [&](const std::string& text, const std::string& where,
               std::vector<std::string>& active) -> std::string {
    std::string out;
    std::size_t position = 0;
    while (true) {
      std::size_t open = text.find("${", position);
      if (open == std::string::npos) {
        out.append(text, position, std::string::npos);
        return out;
      }
      std::size_t close = text.find('}', open + 2);
      if (close == std::string::npos) {
        throw ConfigError(fmt::format("{}: unterminated reference in '{}'", where, text));
      }
      out.append(text, position, open - position);
      std::string target = text.substr(open + 2, close - open - 2);
      YAML::Node referenced = find(target);
      if (!referenced.IsDefined() || referenced.IsNull()) {
        throw ConfigError(fmt::format("{}: reference '${{{}}}' names no key", where, target));
      }
      if (!referenced.IsScalar()) {
        throw ConfigError(
            fmt::format("{}: reference '${{{}}}' names a mapping or list; expected a single value",
                        where, target));
      }
      for (const std::string& seen : active) {
        if (seen == target) {
          throw ConfigError(fmt::format("{}: reference '${{{}}}' refers back to itself", where,
                                        target));
        }
      }
      active.push_back(target);
      out += expand(referenced.Scalar(), where, active);
      active.pop_back();
      position = close + 1;
    }
  };
  std::function<void(YAML::Node, const std::string&)> walk = [&](YAML::Node node,
                                                                const std::string& path) {
    if (node.IsMap()) {
      for (auto it = node.begin(); it != node.end(); ++it) {
        walk(it->second, join_path(path, it->first.Scalar()));
      }
    } else if (node.IsSequence()) {
      for (std::size_t i = 0; i < node.size(); ++i) {
        walk(node[i], fmt::format("{}[{}]", path, i));
      }
    } else if (node.IsScalar() && node.Scalar().find("${") != std::string::npos) {
      std::string where = fmt::format("{}: {}", state.location(node, path, {}), path);
      std::vector<std::string> active{path};
      node = expand(node.Scalar(), where, active);
    }
  };
  walk(state.root, "");
}

void ConfigDocument::set_strict_devices(bool strict) { state_->strict_devices = strict; }

const std::vector<std::string>& ConfigDocument::warnings() const { return state_->warnings; }

ConfigView ConfigDocument::root() const {
  return ConfigView(state_, state_->root, "");
}

const std::string& ConfigDocument::origin() const { return state_->origin; }

std::string ConfigDocument::to_yaml() const {
  YAML::Emitter emitter;
  emitter << state_->root;
  return emitter.c_str();
}

void ConfigDocument::collect_problems(bool collect) { state_->collect_problems = collect; }

std::vector<std::string> ConfigDocument::read_keys() const {
  std::set<std::string> paths;
  for (const auto& [mapping, keys] : state_->known_keys) {
    // "a.items[3].b" -> "a.items[].b": every item of a list has the same schema.
    std::string general;
    for (std::size_t i = 0; i < mapping.size(); ++i) {
      general += mapping[i];
      if (mapping[i] == '[') {
        while (i + 1 < mapping.size() && mapping[i + 1] != ']') ++i;
      }
    }
    for (const std::string& key : keys) paths.insert(join_path(general, key));
  }
  return {paths.begin(), paths.end()};
}

void ConfigDocument::throw_with_problems(const ConfigError& interrupted) const {
  std::vector<std::string> problems = state_->problems;
  // A check of a key whose read already failed repeats that problem (ConfigView::fail).
  if (std::find(problems.begin(), problems.end(), interrupted.what()) == problems.end()) {
    problems.push_back(interrupted.what());
  }
  throw_problems(std::move(problems), state_->origin);
}

void ConfigDocument::check_unknown_keys() const {
  const auto& state = *state_;
  std::vector<std::string> problems = state.problems;
  std::function<void(const YAML::Node&, const std::string&)> walk = [&](const YAML::Node& node,
                                                                       const std::string& path) {
    if (state.free_form.count(path)) return;
    if (node.IsSequence()) {
      for (std::size_t i = 0; i < node.size(); ++i) {
        walk(node[i], fmt::format("{}[{}]", path, i));
      }
      return;
    }
    if (!node.IsMap()) return;
    auto known = state.known_keys.find(path);
    std::set<std::string> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      const std::string key = it->first.Scalar();
      const std::string key_path = join_path(path, key);
      const std::string where = state.location(it->first, key_path, {});
      if (!seen.insert(key).second) {
        problems.push_back(fmt::format("{}: duplicate key '{}'", where, key_path));
        continue;
      }
      if (known == state.known_keys.end()) {
        problems.push_back(fmt::format("{}: unknown key '{}'; '{}' takes no keys", where,
                                       key_path, path));
      } else if (!known->second.count(key)) {
        problems.push_back(fmt::format("{}: unknown key '{}'; expected one of: {}", where,
                                       key_path, fmt::join(known->second, ", ")));
      } else {
        walk(it->second, key_path);
      }
    }
  };
  walk(state.root, "");
  if (!problems.empty()) throw_problems(std::move(problems), state.origin);
}

}  // namespace omni
