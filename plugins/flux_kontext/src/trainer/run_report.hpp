#pragma once
// The report at the end of a fit: training loss first vs last, held-out loss of the base
// model vs with the LoRA, one picture per held-out sample, the loss curve, and where every
// file is. Written to <run>/report/ (report.txt, summary.json, loss_curve.png,
// held_out-<i>.png) and printed.
#include <filesystem>
#include <optional>
#include <vector>

#include "omni/image.hpp"

namespace flux_kontext {

struct RunReport {
  std::filesystem::path run_dir;
  std::filesystem::path lora_file;
  // Samples per optimizer step across all ranks: batch size x ranks x accumulation.
  int batch_size = 1, ranks = 1, gradient_accumulation_steps = 1;
  std::optional<double> held_out_base_loss, held_out_lora_loss;
  // controls | target | base prediction | LoRA prediction, one per held-out sample.
  std::vector<omni::Image> held_out_grids;
  // Also judge the quickstart's targets (held-out loss at least 20 % lower than the base's,
  // the whole run within 3 minutes).
  bool quickstart_targets = false;
};

// Reads the run's metrics.jsonl for the training curve; writes and prints the report.
void write_run_report(const RunReport& report);

}  // namespace flux_kontext
