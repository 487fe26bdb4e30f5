#include "trainer/run_report.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <numeric>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "trainer/loss_curve_plot.hpp"
#include "omni/atomic_file.hpp"
#include "omni/error.hpp"
#include "omni/image_io.hpp"

namespace flux_kontext {
namespace {

namespace fs = std::filesystem;

// When this library was loaded: the host loads its plugins as a run starts, so the report's
// "whole run" time counts from here.
const std::chrono::steady_clock::time_point kLoaded = std::chrono::steady_clock::now();

// The quickstart's targets (see configs/quickstart.yaml).
constexpr double kTargetReduction = 0.20;
constexpr double kTargetSeconds = 180;

// The training curves from metrics.jsonl. A resumed run may log a step twice (steps after its
// last checkpoint are replayed): the later line wins.
LossCurves read_curves(const fs::path& metrics_file) {
  std::map<std::int64_t, double> loss, smoothed, validation;
  std::ifstream in(metrics_file);
  std::string line;
  while (std::getline(in, line)) {
    const auto json = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!json.is_object() || !json.contains("step")) continue;  // a line cut short by a crash
    const auto step = json["step"].get<std::int64_t>();
    auto take = [&](const char* key, std::map<std::int64_t, double>& into) {
      if (json.contains(key) && json[key].is_number()) into[step] = json[key].get<double>();
    };
    take("loss", loss);
    take("loss_smoothed", smoothed);
    take("val_loss", validation);
  }
  auto series = [](const std::map<std::int64_t, double>& values) {
    return StepSeries(values.begin(), values.end());
  };
  return {series(loss), series(smoothed), series(validation)};
}

double mean_of(StepSeries::const_iterator begin, StepSeries::const_iterator end) {
  double sum = 0;
  for (auto it = begin; it != end; ++it) sum += it->second;
  return sum / static_cast<double>(std::max<std::ptrdiff_t>(1, end - begin));
}

void write_text(const fs::path& file, const std::string& text, std::string_view what) {
  omni::write_file_atomically(file, text.data(), text.size(), what);
}

}  // namespace

void write_run_report(const RunReport& report) {
  const fs::path folder = report.run_dir / "report";
  fs::create_directories(folder);
  const LossCurves curves = read_curves(report.run_dir / "metrics.jsonl");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - kLoaded).count();

  nlohmann::ordered_json summary;
  std::string text = fmt::format("=== run report: {}\n", report.run_dir.string());
  const int global_batch = report.batch_size * report.ranks * report.gradient_accumulation_steps;
  text += fmt::format("global batch     {} samples per step (batch {} x {} rank{} x {} accumulated)\n",
                      global_batch, report.batch_size, report.ranks, report.ranks > 1 ? "s" : "",
                      report.gradient_accumulation_steps);
  summary["global_batch_size"] = global_batch;
  summary["ranks"] = report.ranks;
  if (!curves.loss.empty()) {
    // Single steps are noisy (each draws its own timesteps): the means of the first and
    // last tenth say more.
    const std::ptrdiff_t window = std::max<std::ptrdiff_t>(1, static_cast<std::ptrdiff_t>(curves.loss.size()) / 10);
    const double first_mean = mean_of(curves.loss.begin(), curves.loss.begin() + window);
    const double last_mean = mean_of(curves.loss.end() - window, curves.loss.end());
    text += fmt::format("training loss    step {}: {:.4f} -> step {}: {:.4f}  (mean of the first {} "
                        "steps {:.4f}, of the last {} {:.4f})\n",
                        curves.loss.front().first, curves.loss.front().second,
                        curves.loss.back().first, curves.loss.back().second, window, first_mean,
                        window, last_mean);
    summary["train_loss_first"] = curves.loss.front().second;
    summary["train_loss_last"] = curves.loss.back().second;
    summary["train_loss_first_mean"] = first_mean;
    summary["train_loss_last_mean"] = last_mean;
    summary["steps"] = curves.loss.back().first;
  }
  std::optional<double> reduction;
  if (report.held_out_base_loss && report.held_out_lora_loss) {
    reduction = 1 - *report.held_out_lora_loss / *report.held_out_base_loss;
    text += fmt::format("held-out loss    base model {:.4f} -> with the LoRA {:.4f}  ({:+.1f} %)\n",
                        *report.held_out_base_loss, *report.held_out_lora_loss, -100 * *reduction);
    summary["held_out_loss_base"] = *report.held_out_base_loss;
    summary["held_out_loss_lora"] = *report.held_out_lora_loss;
    summary["held_out_loss_reduction"] = *reduction;
  }

  const fs::path curve_file = folder / "loss_curve.png";
  omni::write_png(curve_file, plot_loss_curves(curves));
  std::vector<std::string> grid_files;
  for (std::size_t i = 0; i < report.held_out_grids.size(); ++i) {
    const fs::path file = folder / fmt::format("held_out-{}.png", i);
    omni::write_png(file, report.held_out_grids[i]);
    grid_files.push_back(file.string());
  }
  text += "files\n";
  text += fmt::format("  LoRA (diffusers layout)  {}\n", report.lora_file.string());
  text += fmt::format("  loss curve               {}\n", curve_file.string());
  if (!grid_files.empty()) {
    text += fmt::format("  held-out samples         {}{}  (references | target | base | LoRA)\n",
                        grid_files.front(), grid_files.size() > 1 ? fmt::format(" .. held_out-{}.png", grid_files.size() - 1) : "");
  }
  text += fmt::format("  metrics                  {}\n", (report.run_dir / "metrics.jsonl").string());
  summary["lora_file"] = report.lora_file.string();
  summary["loss_curve"] = curve_file.string();
  summary["held_out_grids"] = grid_files;
  summary["seconds_since_start"] = seconds;

  if (report.quickstart_targets) {
    text += "targets\n";
    if (reduction) {
      const bool met = *reduction >= kTargetReduction;
      text += fmt::format("  held-out loss at least {:.0f} % below the base model's: {:.1f} % below, {}\n",
                          100 * kTargetReduction, 100 * *reduction, met ? "met" : "NOT met");
      summary["target_held_out_reduction_met"] = met;
    }
    const bool fast = seconds <= kTargetSeconds;
    text += fmt::format("  whole run within {:.0f} s on 2 CPU cores: {:.0f} s up to here, {}\n",
                        kTargetSeconds, seconds, fast ? "met" : "NOT met");
    summary["target_time_met"] = fast;
  }
  write_text(folder / "summary.json", summary.dump(2) + "\n", "run summary");
  write_text(folder / "report.txt", text, "run report");
  fmt::print("\n{}\n", text);
}

}  // namespace flux_kontext
