// CSV and JSON Lines manifests: one sample per row, paths relative to the manifest's folder.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "data/csv_table.hpp"
#include "data/dataset_files.hpp"
#include "omni/error.hpp"

namespace flux_kontext::detail {
namespace {

namespace fs = std::filesystem;

// One row, by role; each value keeps the column (or key) it came from for messages. An
// absent or empty cell is nullopt.
struct Cell {
  std::string column;
  std::string value;
};

struct Row {
  std::size_t line = 0;
  std::optional<Cell> target, prompt, mask;
  std::vector<std::optional<Cell>> controls;  // by index; gaps are nullopt
};

std::string read_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    throw omni::Error(
        fmt::format("cannot read dataset manifest '{}': {}", file.string(), std::strerror(errno)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The control index a column name stands for: 0 for path_control / control, N for
// path_control_N / control_N; nullopt for any other column.
std::optional<int> control_index(std::string_view name) {
  if (name.substr(0, 5) == "path_") name.remove_prefix(5);
  if (name == "control") return 0;
  if (name.substr(0, 8) != "control_") return std::nullopt;
  const std::string_view digits = name.substr(8);
  if (digits.empty() || digits.size() > 6 ||
      digits.find_first_not_of("0123456789") != std::string_view::npos) {
    return std::nullopt;
  }
  return std::stoi(std::string(digits));
}

enum class Role { kTarget, kPrompt, kMask, kControl, kOther };

Role role_of(std::string_view name) {
  if (name == "path_target" || name == "target") return Role::kTarget;
  if (name == "prompt") return Role::kPrompt;
  if (name == "path_mask" || name == "mask") return Role::kMask;
  if (control_index(name)) return Role::kControl;
  return Role::kOther;
}

// Puts `cell` in its role's place; two columns of one role in one row is an error.
void assign(Row& row, std::optional<Cell> cell, std::string_view where) {
  if (!cell) return;
  auto place = [&](std::optional<Cell>& slot) {
    if (slot) {
      throw omni::Error(fmt::format("{}: both '{}' and '{}' are given; use one of them", where,
                                    slot->column, cell->column));
    }
    slot = std::move(cell);
  };
  switch (role_of(cell->column)) {
    case Role::kTarget:
      place(row.target);
      break;
    case Role::kPrompt:
      place(row.prompt);
      break;
    case Role::kMask:
      place(row.mask);
      break;
    case Role::kControl: {
      const auto index = static_cast<std::size_t>(*control_index(cell->column));
      if (row.controls.size() <= index) row.controls.resize(index + 1);
      place(row.controls[index]);
      break;
    }
    case Role::kOther:
      break;
  }
}

class RowToSample {
 public:
  RowToSample(const fs::path& manifest, const DatasetIndexOptions& options)
      : manifest_(manifest), folder_(manifest.parent_path()), options_(options) {}

  DatasetSample operator()(const Row& row) const {
    const std::string where =
        fmt::format("dataset manifest '{}', line {}", manifest_.string(), row.line);
    DatasetSample sample;
    sample.id = fmt::format("{}:{}", manifest_.filename().string(), row.line);
    if (row.target) {
      sample.target = resolve(*row.target, where);
    } else if (options_.require_target) {
      throw omni::Error(fmt::format("{}: no target image ('path_target' or 'target')", where));
    }
    if (row.controls.empty() || !row.controls[0]) {
      throw omni::Error(fmt::format("{}: no control image ('path_control' or 'control')", where));
    }
    for (std::size_t i = 0; i < row.controls.size(); ++i) {
      if (!row.controls[i]) {
        // Trailing empty cells just mean fewer controls; a hole before a given one is a gap.
        const auto later = std::find_if(row.controls.begin() + long(i), row.controls.end(),
                                        [](const auto& cell) { return cell.has_value(); });
        if (later == row.controls.end()) break;
        throw omni::Error(
            fmt::format("{}: '{}' is given but control {} is missing; controls "
                        "are numbered 1, 2, ... without gaps",
                        where, (*later)->column, i));
      }
      sample.controls.push_back(resolve(*row.controls[i], where));
    }
    if (!row.prompt) throw omni::Error(fmt::format("{}: no 'prompt'", where));
    sample.prompt = clean_prompt(row.prompt->value, where);
    if (row.mask) sample.mask = resolve(*row.mask, where);
    return sample;
  }

 private:
  fs::path resolve(const Cell& cell, const std::string& where) const {
    fs::path path(cell.value);
    if (path.is_relative()) path = folder_ / path;
    std::error_code error;
    if (!fs::is_regular_file(path, error)) {
      throw omni::Error(fmt::format(
          "{}, column '{}': the file '{}' does not exist{}", where, cell.column, path.string(),
          fs::path(cell.value).is_relative() ? " (relative paths start at the manifest's folder)"
                                             : ""));
    }
    if (!options_.allow_paths_outside && !inside(folder_, path)) {
      throw omni::Error(fmt::format(
          "{}, column '{}': '{}' is outside the manifest's folder '{}' (it resolves to '{}'); "
          "set data.init_args.allow_paths_outside_dataset: true to read files from anywhere",
          where, cell.column, cell.value, folder_.string(),
          fs::weakly_canonical(path, error).string()));
    }
    require_decodable(path, fmt::format("{}, column '{}'", where, cell.column));
    return path;
  }

  // Whether `path`, with `..` and symlinks resolved, lies under `folder`.
  static bool inside(const fs::path& folder, const fs::path& path) {
    std::error_code error;
    const fs::path root = fs::weakly_canonical(folder.empty() ? fs::path(".") : folder, error);
    const fs::path resolved = fs::weakly_canonical(path, error);
    if (error) return false;
    auto r = root.begin(), p = resolved.begin();
    for (; r != root.end() && !r->empty(); ++r, ++p) {
      if (p == resolved.end() || *r != *p) return false;
    }
    return true;
  }

  fs::path manifest_;
  fs::path folder_;
  const DatasetIndexOptions& options_;
};

void require_rows(const fs::path& file, const std::vector<DatasetSample>& samples) {
  if (samples.empty()) {
    throw omni::Error(fmt::format("dataset manifest '{}' lists no samples", file.string()));
  }
}

}  // namespace

std::vector<DatasetSample> index_csv_manifest(const fs::path& file,
                                              const DatasetIndexOptions& options) {
  const std::string text = read_text(file);
  const std::vector<CsvRow> rows = parse_csv(text, file.string());
  if (rows.empty()) {
    throw omni::Error(
        fmt::format("dataset manifest '{}' is empty: it needs a header row with "
                    "the columns path_target, path_control, ..., prompt",
                    file.string()));
  }
  std::vector<std::string> header = rows[0].fields;
  for (std::string& name : header) {
    // Spreadsheets often leave spaces after commas in the header.
    while (!name.empty() && name.back() == ' ') name.pop_back();
    while (!name.empty() && name.front() == ' ') name.erase(0, 1);
  }
  // Check the header once, so that a missing column is reported as such and not per row.
  Row columns;
  for (const std::string& name : header) {
    assign(columns, Cell{name, "-"}, fmt::format("dataset manifest '{}', header", file.string()));
  }
  auto missing = [&](const char* what) {
    throw omni::Error(fmt::format("dataset manifest '{}' has no {} column (its columns: {})",
                                  file.string(), what, fmt::join(header, ", ")));
  };
  if (!columns.prompt) missing("'prompt'");
  if (columns.controls.empty() || !columns.controls[0]) missing("'path_control' (or 'control')");
  if (options.require_target && !columns.target) missing("'path_target' (or 'target')");
  for (std::size_t i = 1; i < columns.controls.size(); ++i) {
    if (!columns.controls[i]) {
      throw omni::Error(
          fmt::format("dataset manifest '{}' has a control column gap: "
                      "'path_control_{}' is missing (its columns: {})",
                      file.string(), i, fmt::join(header, ", ")));
    }
  }

  const RowToSample to_sample(file, options);
  std::vector<DatasetSample> samples;
  for (std::size_t r = 1; r < rows.size(); ++r) {
    const CsvRow& csv = rows[r];
    if (csv.fields.size() != header.size()) {
      throw omni::Error(
          fmt::format("dataset manifest '{}', line {}: {} fields but the header "
                      "has {} (quote fields that hold commas)",
                      file.string(), csv.line, csv.fields.size(), header.size()));
    }
    Row row;
    row.line = csv.line;
    for (std::size_t c = 0; c < header.size(); ++c) {
      if (csv.fields[c].empty()) continue;
      assign(row, Cell{header[c], csv.fields[c]}, "");
    }
    samples.push_back(to_sample(row));
  }
  require_rows(file, samples);
  return samples;
}

std::vector<DatasetSample> index_jsonl_manifest(const fs::path& file,
                                                const DatasetIndexOptions& options) {
  std::string text = read_text(file);
  if (text.compare(0, 3, "\xef\xbb\xbf") == 0) text.erase(0, 3);
  const RowToSample to_sample(file, options);
  std::vector<DatasetSample> samples;
  std::istringstream lines(text);
  std::size_t number = 0;
  for (std::string line; std::getline(lines, line);) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = fmt::format("dataset manifest '{}', line {}", file.string(), number);
    nlohmann::json object;
    try {
      object = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& error) {
      std::string_view message = error.what();
      if (auto close = message.find("] "); close != std::string_view::npos) {
        message.remove_prefix(close + 2);
      }
      throw omni::Error(fmt::format("{}: not valid JSON: {}", where, message));
    }
    if (!object.is_object()) {
      throw omni::Error(fmt::format("{}: expected one JSON object per line", where));
    }
    // A list and numbered keys in one row would leave the numbering ambiguous.
    std::vector<std::string> control_keys;
    bool control_list = false;
    for (const auto& [key, value] : object.items()) {
      if (role_of(key) != Role::kControl || value.is_null()) continue;
      control_keys.push_back(key);
      control_list = control_list || value.is_array();
    }
    if (control_list && control_keys.size() > 1) {
      throw omni::Error(
          fmt::format("{}: give the controls either as one list or as numbered "
                      "keys, not both (found {})",
                      where, fmt::join(control_keys, ", ")));
    }
    Row row;
    row.line = number;
    auto string_of = [&](const std::string& key, const nlohmann::json& value) {
      if (!value.is_string()) {
        throw omni::Error(
            fmt::format("{}: '{}' must be a string, not {}", where, key, value.type_name()));
      }
      return value.get<std::string>();
    };
    for (const auto& [key, value] : object.items()) {
      const Role role = role_of(key);
      if (role == Role::kOther || value.is_null()) continue;
      if (role == Role::kControl && value.is_array()) {
        if (*control_index(key) != 0) {
          throw omni::Error(
              fmt::format("{}: only 'control' (or 'path_control') may be a list", where));
        }
        row.controls.resize(value.size());
        for (std::size_t i = 0; i < value.size(); ++i) {
          const std::string name = fmt::format("{}[{}]", key, i);
          std::string cell = string_of(name, value[i]);
          if (!cell.empty()) row.controls[i] = Cell{name, std::move(cell)};
        }
        continue;
      }
      std::string cell = string_of(key, value);
      if (cell.empty()) continue;
      assign(row, Cell{key, std::move(cell)}, where);
    }
    samples.push_back(to_sample(row));
  }
  require_rows(file, samples);
  return samples;
}

}  // namespace flux_kontext::detail
