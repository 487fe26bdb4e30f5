#pragma once
// The one place that includes LibTorch's c10d headers. It hides what differs between
// LibTorch 1.13 (backends are ProcessGroups) and 2.x (backends are c10d::Backend under a
// ProcessGroup), and which backends this build has (NCCL only with CUDA), behind two small
// types: a connection to the rendezvous store and a collective backend.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <ATen/Tensor.h>

namespace omni::c10d_compat {

// A connection to the job's TCPStore (rank 0 hosts the server). Each thread that talks to
// the store uses its own connection.
class StoreConnection {
 public:
  virtual ~StoreConnection() = default;
  virtual void set(const std::string& key, const std::string& value) = 0;
  // The value when the key is set, without waiting.
  virtual std::optional<std::string> try_get(const std::string& key) = 0;
  virtual std::int64_t add(const std::string& key, std::int64_t delta) = 0;
};

// Hosts the store (`serve`: rank 0) or connects to it, retrying until `timeout`; every key
// goes under `key_prefix`. Throws std::exception with c10d's reason when that fails.
std::shared_ptr<StoreConnection> connect_store(const std::string& host, int port, bool serve,
                                               std::chrono::milliseconds timeout,
                                               const std::string& key_prefix);

class CollectiveBackend {
 public:
  virtual ~CollectiveBackend() = default;
  virtual void all_reduce_sum(at::Tensor& tensor) = 0;
  virtual void broadcast(at::Tensor& tensor, int root) = 0;
  // The device its collectives take tensors on: CPU for Gloo, the rank's GPU for NCCL.
  virtual c10::Device device() const = 0;
};

// Whether this build has the NCCL backend (a LibTorch with CUDA).
bool has_nccl();

// A c10d backend ("gloo" or "nccl") over `store` (its keys live under their own prefix).
// `collective_timeout` bounds one collective inside c10d; liveness is watched elsewhere.
// `local_address` is the address this rank's Gloo device listens on, or empty for the
// machine's hostname (GLOO_SOCKET_IFNAME, when set, names the interface instead).
std::unique_ptr<CollectiveBackend> make_backend(const std::string& name,
                                                const std::shared_ptr<StoreConnection>& store,
                                                int rank, int world_size, int local_rank,
                                                std::chrono::milliseconds collective_timeout,
                                                const std::string& local_address);

}  // namespace omni::c10d_compat
