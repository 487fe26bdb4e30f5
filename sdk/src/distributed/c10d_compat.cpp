// LibTorch's c10d, used as the launchers' Python code uses it: a TCPStore for the rendezvous
// and a ProcessGroupGloo (CPU) or ProcessGroupNCCL (CUDA) for the collectives.
#include "c10d_compat.hpp"

#include <cstdlib>

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/version.h>
#if defined(OMNI_WITH_NCCL) && OMNI_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include "omni/error.hpp"

namespace omni::c10d_compat {
namespace {

// LibTorch 2.x made each backend a c10d::Backend that a ProcessGroup dispatches to; in 1.13
// the backend was the ProcessGroup. Both have the same collective calls, which is all we use.
#if TORCH_VERSION_MAJOR >= 2
using BackendHandle = c10::intrusive_ptr<::c10d::Backend>;
#else
using BackendHandle = c10::intrusive_ptr<::c10d::ProcessGroup>;
#endif

class TcpStoreConnection final : public StoreConnection {
 public:
  explicit TcpStoreConnection(c10::intrusive_ptr<::c10d::Store> store) : store_(std::move(store)) {}

  void set(const std::string& key, const std::string& value) override {
    store_->set(key, std::vector<std::uint8_t>(value.begin(), value.end()));
  }

  std::optional<std::string> try_get(const std::string& key) override {
    if (!store_->check({key})) return std::nullopt;
    const std::vector<std::uint8_t> bytes = store_->get(key);
    return std::string(bytes.begin(), bytes.end());
  }

  std::int64_t add(const std::string& key, std::int64_t delta) override {
    return store_->add(key, delta);
  }

  const c10::intrusive_ptr<::c10d::Store>& store() const { return store_; }

 private:
  c10::intrusive_ptr<::c10d::Store> store_;
};

class C10dBackend final : public CollectiveBackend {
 public:
  C10dBackend(BackendHandle backend, c10::Device device)
      : backend_(std::move(backend)), device_(device) {}

  void all_reduce_sum(at::Tensor& tensor) override {
    std::vector<at::Tensor> tensors{tensor};
    ::c10d::AllreduceOptions options;
    options.reduceOp = ::c10d::ReduceOp::SUM;
    backend_->allreduce(tensors, options)->wait();
  }

  void broadcast(at::Tensor& tensor, int root) override {
    std::vector<at::Tensor> tensors{tensor};
    ::c10d::BroadcastOptions options;
    options.rootRank = root;
    backend_->broadcast(tensors, options)->wait();
  }

  c10::Device device() const override { return device_; }

 private:
  BackendHandle backend_;
  c10::Device device_;
};

BackendHandle make_gloo(const c10::intrusive_ptr<::c10d::Store>& store, int rank, int world_size,
                        std::chrono::milliseconds timeout, const std::string& local_address) {
  auto options = ::c10d::ProcessGroupGloo::Options::create();
  options->timeout = timeout;
  if (const char* interface = std::getenv("GLOO_SOCKET_IFNAME"); interface && *interface) {
    options->devices.push_back(::c10d::ProcessGroupGloo::createDeviceForInterface(interface));
  } else if (!local_address.empty()) {
    options->devices.push_back(::c10d::ProcessGroupGloo::createDeviceForHostname(local_address));
  } else {
    options->devices.push_back(::c10d::ProcessGroupGloo::createDefaultDevice());
  }
  return c10::make_intrusive<::c10d::ProcessGroupGloo>(store, rank, world_size, options);
}

#if defined(OMNI_WITH_NCCL) && OMNI_WITH_NCCL
BackendHandle make_nccl(const c10::intrusive_ptr<::c10d::Store>& store, int rank, int world_size,
                        std::chrono::milliseconds timeout) {
  auto options = ::c10d::ProcessGroupNCCL::Options::create();
  options->timeout = timeout;
  return c10::make_intrusive<::c10d::ProcessGroupNCCL>(store, rank, world_size, options);
}
#endif

// LibTorch 2.x's TCPStore asks for its libuv server by default, which a LibTorch built
// without libuv (Debian's 2.6) refuses; 1.13 has no such option.
template <typename Options>
auto without_libuv(Options& options, int) -> decltype(options.useLibUV = false, bool()) {
  options.useLibUV = false;
  return true;
}
template <typename Options>
bool without_libuv(Options&, long) {
  return false;
}

}  // namespace

std::shared_ptr<StoreConnection> connect_store(const std::string& host, int port, bool serve,
                                               std::chrono::milliseconds timeout,
                                               const std::string& key_prefix) {
  ::c10d::TCPStoreOptions options;
  options.port = static_cast<std::uint16_t>(port);
  options.isServer = serve;
  options.waitWorkers = false;  // the ranks' arrival is checked, with names, by the caller
  options.timeout = timeout;
  c10::intrusive_ptr<::c10d::TCPStore> store;
  try {
    store = c10::make_intrusive<::c10d::TCPStore>(host, options);
  } catch (const std::exception& error) {
    if (std::string(error.what()).find("libuv") == std::string::npos || !without_libuv(options, 0)) throw;
    store = c10::make_intrusive<::c10d::TCPStore>(host, options);
  }
  return std::make_shared<TcpStoreConnection>(c10::make_intrusive<::c10d::PrefixStore>(key_prefix, store));
}

bool has_nccl() {
#if defined(OMNI_WITH_NCCL) && OMNI_WITH_NCCL
  return true;
#else
  return false;
#endif
}

std::unique_ptr<CollectiveBackend> make_backend(const std::string& name,
                                                const std::shared_ptr<StoreConnection>& store,
                                                int rank, int world_size, int local_rank,
                                                std::chrono::milliseconds collective_timeout,
                                                const std::string& local_address) {
  const auto* connection = dynamic_cast<const TcpStoreConnection*>(store.get());
  if (connection == nullptr) throw Error("distributed: the store is not a c10d TCPStore");
  // The backend's own keys stay apart from the job's (omni/...).
  auto prefixed = c10::make_intrusive<::c10d::PrefixStore>("c10d/" + name, connection->store());
  if (name == "gloo") {
    return std::make_unique<C10dBackend>(
        make_gloo(prefixed, rank, world_size, collective_timeout, local_address), c10::Device(c10::kCPU));
  }
#if defined(OMNI_WITH_NCCL) && OMNI_WITH_NCCL
  if (name == "nccl") {
    return std::make_unique<C10dBackend>(make_nccl(prefixed, rank, world_size, collective_timeout),
                                         c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(local_rank)));
  }
#else
  (void)local_rank;
#endif
  throw Error("distributed: backend '" + name + "' is not in this build");
}

}  // namespace omni::c10d_compat
