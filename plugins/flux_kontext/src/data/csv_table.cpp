#include "data/csv_table.hpp"

#include <fmt/format.h>

#include "omni/error.hpp"

namespace flux_kontext::detail {

std::vector<CsvRow> parse_csv(std::string_view text, std::string_view source) {
  if (text.substr(0, 3) == "\xef\xbb\xbf") text.remove_prefix(3);
  std::vector<CsvRow> rows;
  CsvRow row;
  std::string field;
  std::size_t line = 1;
  bool row_started = false;  // a blank line has no field at all, not one empty field
  auto end_field = [&] {
    row.fields.push_back(std::move(field));
    field.clear();
  };
  auto end_row = [&] {
    if (row_started) {
      end_field();
      rows.push_back(std::move(row));
    }
    row = CsvRow{};
    row_started = false;
  };

  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (!row_started) {
      row.line = line;
      if (c == '\n' || (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n')) {
        i += c == '\r' ? 2 : 1;
        ++line;
        continue;
      }
      row_started = true;
    }
    if (c == '"' && field.empty()) {
      // A quoted field: runs to the closing quote, whatever lies between.
      const std::size_t opened_line = line;
      ++i;
      for (;;) {
        if (i >= text.size()) {
          throw omni::Error(
              fmt::format("CSV '{}': the quoted field opened on line {} is never "
                          "closed",
                          source, opened_line));
        }
        if (text[i] == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            field.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        if (text[i] == '\n') ++line;
        field.push_back(text[i++]);
      }
      if (i < text.size() && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
        throw omni::Error(
            fmt::format("CSV '{}', line {}: unexpected '{}' after a closing "
                        "quote (a quote inside a quoted field is written \"\")",
                        source, line, text[i]));
      }
      continue;
    }
    if (c == ',') {
      end_field();
      ++i;
    } else if (c == '\n' || (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n')) {
      end_row();
      i += c == '\r' ? 2 : 1;
      ++line;
    } else {
      field.push_back(c);
      ++i;
    }
  }
  end_row();
  return rows;
}

}  // namespace flux_kontext::detail
