#include "stage_runner.hpp"

#include <algorithm>
#include <iostream>
#include <thread>

#include <ATen/Parallel.h>
#include <fmt/format.h>

#include "command_line.hpp"
#include "commands.hpp"
#include "omni/malloc_tuning.hpp"
#include "stop_signal.hpp"

namespace omni::host {

int run_stages(const PreparedJob& job, Registry& registry, const std::vector<Stage>& stages,
               int threads, std::optional<std::string> resume,
               const PredictRequest* predict_request) {
  if (threads < 0) throw UsageError("--threads must be 0 (one per core) or positive");
  // LibTorch here starts with a single intra-op thread; use the machine unless told otherwise.
  if (threads == 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads);

  StageContext context;
  context.components = &registry;
  context.resume = std::move(resume);
  context.stop_requested = &install_stop_signal_handlers();
  context.predict_request = predict_request;

  const TrainerFactory& factory = registry.trainer(job.trainer);
  std::unique_ptr<Trainer> trainer = factory.create(job.document.root(), registry);
  for (Stage stage : stages) {
    std::cerr << fmt::format("omnihost: {} stage ({} trainer, {} threads)\n", stage_name(stage),
                             job.trainer, threads);
    switch (stage) {
      case Stage::cache: trainer->cache(context); break;
      case Stage::fit: trainer->fit(context); break;
      case Stage::predict: trainer->predict(context); break;
    }
    omni::release_free_memory();  // the next stage loads other models
    if (context.stop_requested->load()) {
      std::cerr << "omnihost: stopped by signal after saving state\n";
      return exit_interrupted;
    }
  }
  return 0;
}

}  // namespace omni::host
