#pragma once
// CSV as RFC 4180 and spreadsheet programs write it: comma separated, fields optionally in
// double quotes, a quote inside a quoted field doubled, commas and line breaks allowed inside
// quotes, LF or CRLF line ends, an optional UTF-8 byte order mark (Excel writes one).
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace flux_kontext::detail {

struct CsvRow {
  std::size_t line = 0;  // 1-based line where the row starts, for messages
  std::vector<std::string> fields;
};

// All rows, the header included, blank lines skipped. Throws omni::Error naming `source`
// and the line for an unterminated quote or a stray character after a closing quote.
std::vector<CsvRow> parse_csv(std::string_view text, std::string_view source);

}  // namespace flux_kontext::detail
