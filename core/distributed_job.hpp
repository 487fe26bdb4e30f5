#pragma once
// The host's part of a data-parallel job: the config's `distributed:` section, and joining
// the group that torchrun, srun or mpirun started this process into.
#include <memory>

#include "host_config.hpp"
#include "omni/distributed.hpp"

namespace omni::host {

// Reads `distributed:` (backend, timeout in seconds, master_addr, master_port).
DistributedSettings read_distributed_settings(const ConfigView& root);

struct JobGroup {
  LaunchInfo launch;
  std::unique_ptr<ProcessGroup> group;  // null for a process that no launcher started
};

// Joins the job's group when a launcher started this process; the job's identity, which
// every rank must share, is its config (after --set) and the omnihost build.
JobGroup join_job_group(const PreparedJob& job);

}  // namespace omni::host
