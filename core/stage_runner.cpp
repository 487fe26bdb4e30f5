#include "stage_runner.hpp"

#include <algorithm>
#include <iostream>
#include <thread>

#include <ATen/Parallel.h>
#include <fmt/format.h>

#include "command_line.hpp"
#include "commands.hpp"
#include "distributed_job.hpp"
#include "omni/malloc_tuning.hpp"
#include "stop_signal.hpp"

namespace omni::host {

int run_stages(const PreparedJob& job, Registry& registry, const std::vector<Stage>& stages,
               int threads, std::optional<std::string> resume,
               const PredictRequest* predict_request) {
  if (threads < 0) throw UsageError("--threads must be 0 (one per core) or positive");
  // LibTorch here starts with a single intra-op thread; use the machine unless told otherwise.
  JobGroup joined = join_job_group(job);
  const LaunchInfo& launch = joined.launch;
  // Ranks on one machine share its cores.
  if (threads == 0) {
    threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()) /
                              launch.local_world_size);
  }
  at::set_num_threads(threads);
  if (joined.group) {
    std::cerr << fmt::format("omnihost: rank {} of {} (local rank {}, started by {}), rendezvous "
                             "at {}:{}\n",
                             launch.rank, launch.world_size, launch.local_rank, launch.launcher,
                             launch.master_addr, launch.master_port);
  }

  StageContext context;
  context.group = joined.group.get();
  context.components = &registry;
  context.resume = std::move(resume);
  context.stop_requested = &install_stop_signal_handlers();
  context.predict_request = predict_request;

  const TrainerFactory& factory = registry.trainer(job.trainer);
  std::unique_ptr<Trainer> trainer = factory.create(job.document.root(), registry);
  for (Stage stage : stages) {
    if (stage == Stage::predict && joined.group && !joined.group->is_main()) {
      std::cerr << fmt::format("omnihost: rank {} leaves the predict stage to rank 0\n", launch.rank);
      continue;
    }
    std::cerr << fmt::format("omnihost: {} stage ({} trainer, {} threads)\n", stage_name(stage),
                             job.trainer, threads);
    switch (stage) {
      case Stage::cache: trainer->cache(context); break;
      case Stage::fit: trainer->fit(context); break;
      case Stage::predict: trainer->predict(context); break;
    }
    omni::release_free_memory();  // the next stage loads other models
    if (context.stop_requested->load() || (joined.group && joined.group->stopped_by_peer())) {
      std::cerr << "omnihost: stopped by signal after saving state\n";
      if (joined.group) joined.group->finish();
      return exit_interrupted;
    }
  }
  if (joined.group) joined.group->finish();
  return 0;
}

}  // namespace omni::host
