#include "omni/metrics_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "omni/atomic_file.hpp"
#include "omni/error.hpp"

namespace omni {

namespace fs = std::filesystem;

namespace {

// `file` without the lines of steps after `step` and without lines that do not parse.
void keep_steps_through(const fs::path& file, std::int64_t step) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return;
  std::string kept, line;
  bool changed = false;
  while (std::getline(in, line)) {
    const nlohmann::json entry = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    const bool whole = entry.is_object() && entry.contains("step") && entry["step"].is_number_integer();
    if (whole && entry["step"].get<std::int64_t>() <= step) {
      kept += line + "\n";
    } else {
      changed = true;
    }
  }
  if (changed) write_file_atomically(file, kept.data(), kept.size(), "metrics log");
}

}  // namespace

MetricsLog::MetricsLog(const fs::path& file, std::optional<std::int64_t> resumed_at) : file_(file) {
  if (resumed_at) keep_steps_through(file, *resumed_at);
  if (file.has_parent_path()) {
    std::error_code error;
    fs::create_directories(file.parent_path(), error);
    if (error) {
      throw Error(fmt::format("cannot create the folder of metrics log '{}': {}", file.string(),
                              error.message()));
    }
  }
  // O_APPEND: every write lands at the end even if another process appends too.
  fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    throw Error(
        fmt::format("cannot open metrics log '{}': {}", file.string(), std::strerror(errno)));
  }
  const off_t size = ::lseek(fd_, 0, SEEK_END);
  char last = '\n';
  if (size > 0 && ::pread(fd_, &last, 1, size - 1) != 1) last = '\n';
  try {
    if (last != '\n') write_all("\n");
  } catch (...) {
    ::close(fd_);
    throw;
  }
}

MetricsLog::~MetricsLog() { ::close(fd_); }

void MetricsLog::log(std::int64_t step, const std::vector<std::pair<std::string, double>>& values) {
  const double wall_time =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  nlohmann::ordered_json line = {{"step", step}, {"wall_time", wall_time}};
  for (const auto& [name, value] : values) {
    if (line.contains(name)) {
      throw Error(fmt::format("metrics log '{}': the value name '{}' is {}", file_.string(), name,
                              name == "step" || name == "wall_time" ? "reserved" : "given twice"));
    }
    line[name] = value;  // nlohmann writes NaN and infinities as null
  }
  std::string text;
  try {
    text = line.dump();
  } catch (const nlohmann::json::exception&) {
    throw Error(fmt::format("metrics log '{}': a value name is not valid UTF-8", file_.string()));
  }
  write_all(text + "\n");
}

void MetricsLog::write_all(const std::string& text) {
  std::size_t written = 0;
  while (written < text.size()) {
    const ssize_t count = ::write(fd_, text.data() + written, text.size() - written);
    if (count < 0) {
      if (errno == EINTR) continue;
      throw Error(
          fmt::format("cannot write metrics log '{}': {}", file_.string(), std::strerror(errno)));
    }
    written += static_cast<std::size_t>(count);
  }
}

}  // namespace omni
