#pragma once
// Data-parallel jobs: where this process stands in a job that torchrun, Slurm's srun or Open
// MPI's mpirun launched, and the process group every trainer asks for rank, world size and
// collectives. The group runs on LibTorch's own c10d engine (Gloo on CPU, NCCL on CUDA); a
// job that no launcher started gets a single-process group whose collectives do nothing.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <ATen/Tensor.h>

#include "omni/export.hpp"

namespace omni {

// The config's `distributed:` section. Unset fields come from the launcher's environment.
struct DistributedSettings {
  std::string backend = "auto";  // auto (nccl where CUDA is, else gloo), gloo or nccl
  // How long a rank may be silent (dead, stopped, unreachable) before the others give up.
  std::chrono::milliseconds timeout = std::chrono::minutes(3);
  std::optional<std::string> master_addr;  // wins over MASTER_ADDR and Slurm's first node
  std::optional<int> master_port;          // wins over MASTER_PORT
};

// torchrun's default rendezvous port, used where the launcher gives none (srun, mpirun).
inline constexpr int kDefaultMasterPort = 29500;

// Where this process stands in its job.
struct LaunchInfo {
  std::string launcher;  // "torchrun", "slurm", "mpirun", or empty: not launched as a group
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;        // the index among this machine's ranks: its GPU
  int local_world_size = 1;  // ranks on this machine, which share its cores
  std::string master_addr;   // the rendezvous store's host (rank 0's machine)
  int master_port = 0;
  // torchrun's agent hosts the store itself (TORCHELASTIC_USE_AGENT_STORE), and keeps it
  // across the restarts of its workers: rank 0 connects to it instead of hosting one, and the
  // job's keys live under a prefix of their own per restart.
  bool launcher_hosts_store = false;
  std::string store_key_prefix = "omnihost/";
};

// Reads the launcher's variables through `lookup` (the process environment in the overload
// without it): torchrun's RANK/WORLD_SIZE/LOCAL_RANK/MASTER_ADDR/MASTER_PORT, else Open MPI's
// OMPI_COMM_WORLD_*, else srun's SLURM_PROCID/SLURM_NTASKS/SLURM_LOCALID and the first host of
// SLURM_STEP_NODELIST (or SLURM_JOB_NODELIST). Throws omni::Error naming the variable when a
// value is malformed or missing.
using EnvironmentLookup = std::function<std::optional<std::string>(const std::string& name)>;
OMNI_API LaunchInfo detect_launch(const EnvironmentLookup& lookup,
                                  const DistributedSettings& settings);
OMNI_API LaunchInfo detect_launch(const DistributedSettings& settings);

// The first host of a Slurm node list: "gpu[07-09,12],cpu1" -> "gpu07".
OMNI_API std::string first_slurm_host(std::string_view node_list);

// "cuda" means this rank's own GPU, cuda:LOCAL_RANK, once a group has set it; explicit
// "cuda:N" entries and "cpu" stay as written. Used by parse_device.
OMNI_API void set_default_cuda_index(int index);
OMNI_API std::string resolve_default_cuda(std::string_view device_text);

class OMNI_API ProcessGroup {
 public:
  virtual ~ProcessGroup();
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  bool is_main() const { return rank() == 0; }
  bool is_distributed() const { return world_size() > 1; }

  // Sums `flat` (one dense tensor, the same shape on every rank) across ranks, in place.
  virtual void all_reduce_sum(at::Tensor& flat) = 0;
  // Replaces `tensor` with rank `root`'s.
  virtual void broadcast(at::Tensor& tensor, int root) = 0;
  // Returns rank 0's `text` on every rank (a path, a decision).
  virtual std::string share_from_main(std::string_view key, const std::string& text) = 0;
  // Every rank waits here for the others.
  virtual void barrier(std::string_view what) = 0;
  // Rank 0 runs `work` while the others wait for it (for as long as rank 0 is alive, without
  // a time limit: preparing a data set can take hours); then the others run theirs, which
  // finds rank 0's results ready. For work that writes shared files, such as a cache.
  virtual void main_rank_first(std::string_view what, const std::function<void()>& work) = 0;
  // Called once this rank's stages are done: tells the others it has finished (its silence
  // from now on is no failure); rank 0, which hosts the store, waits for every rank's word.
  virtual void finish();

  // Sums the tensors across ranks in buckets of at most `bucket_bytes` (one all-reduce per
  // bucket of tensors of one dtype and device). Every tensor must be defined: a gradient a
  // rank never computed is zeros there. Does nothing in a single-process group.
  void all_reduce_sum_in_buckets(const std::vector<at::Tensor>& tensors,
                                 std::size_t bucket_bytes = 25u << 20);

  // Set when another rank's SIGINT/SIGTERM stopped the job (a trainer agrees on stopping
  // through its step's all-reduce), so that the host ends this rank as the signalled one.
  void note_stop_by_peer() { stopped_by_peer_ = true; }
  bool stopped_by_peer() const { return stopped_by_peer_; }

 private:
  bool stopped_by_peer_ = false;
};

// The group of a process that no launcher started.
OMNI_API ProcessGroup& single_process_group();

// Joins the job's group: connects to the rendezvous store (rank 0 hosts it), checks that
// every rank runs the same job (`job_identity`: the config and the build) with the same
// world size, starts the liveness watch and creates the c10d backend. Throws omni::Error with
// a one-line reason when the master is unreachable, a rank does not join within the timeout,
// or the ranks disagree.
OMNI_API std::unique_ptr<ProcessGroup> join_process_group(const LaunchInfo& launch,
                                                          const DistributedSettings& settings,
                                                          const std::string& job_identity);

}  // namespace omni
