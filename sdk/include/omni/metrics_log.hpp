#pragma once
// A JSON Lines metrics file: one object per line, `{"step": 12, "wall_time": 1718000000.5,
// "loss": 0.1, ...}`, easy to read back with any tool. Each line reaches the file with one
// write(), so a crash loses at most the line being written, and a resumed run appends to the
// file of the run it continues.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "omni/export.hpp"

namespace omni {

class OMNI_API MetricsLog {
 public:
  // Opens `file` for appending, creating it and its folder if needed. If the file ends in a
  // line cut short by a crash, a newline is added first so that the next line stays whole.
  // With `resumed_at` (a run continuing from the checkpoint of that step), the file is first
  // rewritten without the lines of later steps, which the run is about to redo, and without
  // lines a crash cut short: after any number of kills it holds each step once.
  explicit MetricsLog(const std::filesystem::path& file,
                      std::optional<std::int64_t> resumed_at = std::nullopt);
  ~MetricsLog();
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;

  const std::filesystem::path& file() const { return file_; }

  // Appends one line. Names keep their order; "step" and "wall_time" are reserved.
  // Non-finite values are written as null (JSON has no NaN or infinity).
  void log(std::int64_t step, const std::vector<std::pair<std::string, double>>& values);

 private:
  void write_all(const std::string& text);

  std::filesystem::path file_;
  int fd_ = -1;
};

}  // namespace omni
