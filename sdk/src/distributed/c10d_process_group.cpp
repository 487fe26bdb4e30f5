// A data-parallel job's process group: the rendezvous through rank 0's TCPStore, the checks
// that every rank runs the same job, a liveness watch that turns a dead or frozen rank into
// a quick, named failure, and collectives on a c10d backend.
#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/cuda.h>

#include "c10d_compat.hpp"
#include "omni/distributed.hpp"
#include "omni/error.hpp"

namespace omni {
namespace {

using Clock = std::chrono::steady_clock;
using c10d_compat::StoreConnection;

constexpr auto kHeartbeatPeriod = std::chrono::milliseconds(500);
constexpr auto kPollPeriod = std::chrono::milliseconds(50);
// One collective may legitimately wait for as long as a peer validates or writes a
// checkpoint; a peer that is gone is caught by the liveness watch long before this.
constexpr auto kCollectiveTimeout = std::chrono::hours(24);

std::string job_key(std::string_view kind, int rank) { return fmt::format("omni/{}/{}", kind, rank); }

double seconds(std::chrono::milliseconds duration) { return static_cast<double>(duration.count()) / 1000.0; }

// c10d's message without the C++ backtrace that LibTorch 1.13 appends, on one line.
std::string reason_of(const std::exception& error) {
  std::string text = error.what();
  if (const auto* c10_error = dynamic_cast<const c10::Error*>(&error)) {
    text = c10_error->what_without_backtrace();
  }
  text = text.substr(0, text.find('\n'));
  return text.empty() ? std::string("(no reason given)") : text;
}

bool is_loopback(const std::string& address) {
  return address == "localhost" || address == "::1" || address.rfind("127.", 0) == 0;
}

// Ends the process from the liveness watch: the main thread may be blocked inside a
// collective that only its dead peer could finish. Every file the job writes is written
// atomically, so nothing half-written is left under a final name.
[[noreturn]] void give_up(const std::string& message) {
  std::fflush(stdout);
  std::fprintf(stderr, "omnihost: error: %s\n", message.c_str());
  std::fflush(stderr);
  std::_Exit(1);
}

// Each rank bumps its heartbeat counter in the store twice a second from a thread of its
// own, and watches the others' counters: a rank whose counter stands still for longer than
// distributed.timeout (killed, stopped, its machine or network gone) ends the job, unless it
// has finished (omni/done/RANK). Rank 0 hosting the store, its loss ends the others at once.
class LivenessWatch {
 public:
  LivenessWatch(std::shared_ptr<StoreConnection> store, int rank, int world_size,
                std::chrono::milliseconds timeout, std::string store_address)
      : store_(std::move(store)), rank_(rank), world_size_(world_size), timeout_(timeout),
        store_address_(std::move(store_address)),
        last_count_(static_cast<std::size_t>(world_size), -1),
        last_change_(static_cast<std::size_t>(world_size), Clock::now()),
        done_(static_cast<std::size_t>(world_size), false) {
    thread_ = std::thread([this] { loop(); });
  }

  ~LivenessWatch() { stop(); }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  // The ranks silent for at least `quiet`, watched for up to `patience` until one is: a peer
  // that was killed a moment ago may not have missed a heartbeat yet.
  std::vector<int> silent_ranks(std::chrono::milliseconds quiet, std::chrono::milliseconds patience) {
    const auto deadline = Clock::now() + patience;
    while (true) {
      std::vector<int> silent;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        for (int r = 0; r < world_size_; ++r) {
          const auto index = static_cast<std::size_t>(r);
          if (r != rank_ && !done_[index] && Clock::now() - last_change_[index] >= quiet) {
            silent.push_back(r);
          }
        }
      }
      if (!silent.empty() || Clock::now() >= deadline) return silent;
      std::this_thread::sleep_for(kPollPeriod);
    }
  }

 private:
  void loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stopping_) {
      lock.unlock();
      try {
        beat_and_watch();
      } catch (const std::exception& error) {
        lock.lock();
        if (stopping_) return;
        give_up(rank_ == 0
                    ? fmt::format("distributed: rank 0 lost its own rendezvous store: {}",
                                  reason_of(error))
                    : fmt::format("distributed: rank {} lost the rendezvous store of rank 0 at {} "
                                  "(rank 0 exited or died): {}",
                                  rank_, store_address_, reason_of(error)));
      }
      lock.lock();
      wake_.wait_for(lock, kHeartbeatPeriod, [this] { return stopping_; });
    }
  }

  void beat_and_watch() {
    store_->add(job_key("heartbeat", rank_), 1);
    for (int r = 0; r < world_size_; ++r) {
      const auto index = static_cast<std::size_t>(r);
      if (r == rank_ || done_[index]) continue;
      const std::int64_t count = store_->add(job_key("heartbeat", r), 0);
      std::lock_guard<std::mutex> lock(mutex_);
      if (count != last_count_[index]) {
        last_count_[index] = count;
        last_change_[index] = Clock::now();
        continue;
      }
      if (Clock::now() - last_change_[index] <= timeout_) continue;
      if (store_->add(job_key("done", r), 0) > 0) {
        done_[index] = true;  // finished its stages: silence is expected
        continue;
      }
      give_up(fmt::format("distributed: rank {} has not responded for {:.0f} s "
                          "(distributed.timeout): it died, was stopped or lost its network; "
                          "rank {} stops too",
                          r, seconds(timeout_), rank_));
    }
  }

  std::shared_ptr<StoreConnection> store_;
  int rank_;
  int world_size_;
  std::chrono::milliseconds timeout_;
  std::string store_address_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::vector<std::int64_t> last_count_;
  std::vector<Clock::time_point> last_change_;
  std::vector<bool> done_;
  std::thread thread_;
};

class C10dProcessGroup final : public ProcessGroup {
 public:
  C10dProcessGroup(const LaunchInfo& launch, std::shared_ptr<StoreConnection> store,
                   std::shared_ptr<StoreConnection> watch_store, std::chrono::milliseconds timeout,
                   std::string store_address)
      : launch_(launch), store_(std::move(store)),
        watch_(std::make_unique<LivenessWatch>(std::move(watch_store), launch.rank,
                                               launch.world_size, timeout, std::move(store_address))) {}

  ~C10dProcessGroup() override {
    watch_.reset();
    backend_.reset();
    store_.reset();
  }

  void start_backend(const std::string& name) {
    const std::string local_address = is_loopback(launch_.master_addr) ? "127.0.0.1" : "";
    try {
      backend_ = c10d_compat::make_backend(name, store_, launch_.rank, launch_.world_size,
                                           launch_.local_rank, kCollectiveTimeout, local_address);
    } catch (const Error&) {
      throw;
    } catch (const std::exception& error) {
      throw Error(describe_failure(fmt::format("creating the {} backend", name), error));
    }
  }

  int rank() const override { return launch_.rank; }
  int world_size() const override { return launch_.world_size; }

  void all_reduce_sum(at::Tensor& flat) override {
    collective("an all-reduce", flat, [&](at::Tensor& on_device) { backend_->all_reduce_sum(on_device); });
  }

  void broadcast(at::Tensor& tensor, int root) override {
    collective("a broadcast", tensor, [&](at::Tensor& on_device) { backend_->broadcast(on_device, root); });
  }

  std::string share_from_main(std::string_view key, const std::string& text) override {
    const std::string store_key = fmt::format("omni/share/{}/{}", ++sequence_, key);
    if (is_main()) {
      store_call("sharing " + std::string(key), [&] { store_->set(store_key, text); });
      return text;
    }
    return wait_for(store_key, "rank 0's " + std::string(key));
  }

  void barrier(std::string_view what) override {
    at::Tensor token = at::zeros({1}, at::kFloat);
    collective(fmt::format("the barrier '{}'", what), token, [&](at::Tensor& on_device) {
      backend_->all_reduce_sum(on_device);
    });
  }

  void main_rank_first(std::string_view what, const std::function<void()>& work) override {
    const std::string key = fmt::format("omni/first/{}", ++sequence_);
    if (is_main()) {
      try {
        work();
      } catch (const std::exception& error) {
        try {
          store_->set(key, std::string("failed: ") + error.what());
        } catch (const std::exception&) {
        }
        throw;
      }
      store_call(std::string(what), [&] { store_->set(key, "done"); });
      return;
    }
    fmt::print("distributed: rank {} waits while rank 0 is {}\n", rank(), what);
    std::fflush(stdout);
    const std::string outcome = wait_for(key, "rank 0 " + std::string(what));
    if (outcome != "done") {
      throw Error(fmt::format("distributed: rank 0 failed while {}: {}", what,
                              outcome.substr(outcome.find(' ') + 1)));
    }
    work();
  }

  void finish() override {
    store_call("finishing", [&] { store_->add(job_key("done", rank()), 1); });
    if (is_main()) {
      // The others may still talk to the store that this process hosts.
      for (int r = 1; r < world_size(); ++r) {
        while (true) {
          std::int64_t done = 0;
          store_call("finishing", [&] { done = store_->add(job_key("done", r), 0); });
          if (done > 0) break;
          std::this_thread::sleep_for(kPollPeriod);
        }
      }
    }
    watch_->stop();
  }

 private:
  template <typename Collective>
  void collective(const std::string& what, at::Tensor& tensor, Collective&& run) {
    const c10::Device device = backend_->device();
    at::Tensor on_device = tensor.device() == device ? tensor : tensor.to(device);
    try {
      run(on_device);
    } catch (const std::exception& error) {
      throw Error(describe_failure(what, error));
    }
    if (!on_device.is_same(tensor)) tensor.copy_(on_device);
  }

  template <typename Call>
  void store_call(const std::string& what, Call&& call) {
    try {
      call();
    } catch (const std::exception& error) {
      throw Error(describe_failure(what, error));
    }
  }

  std::string wait_for(const std::string& key, const std::string& what) {
    while (true) {
      std::optional<std::string> value;
      store_call("waiting for " + what, [&] { value = store_->try_get(key); });
      if (value) return *value;
      std::this_thread::sleep_for(kPollPeriod);
    }
  }

  // Which rank made `what` fail, as far as the heartbeats tell.
  std::string describe_failure(const std::string& what, const std::exception& error) {
    const std::vector<int> silent =
        watch_->silent_ranks(3 * kHeartbeatPeriod, 8 * kHeartbeatPeriod);
    if (!silent.empty()) {
      return fmt::format("distributed: {} failed on rank {}: rank{} {} stopped responding ({})",
                         what, rank(), silent.size() > 1 ? "s" : "", fmt::join(silent, ", "),
                         reason_of(error));
    }
    return fmt::format("distributed: {} failed on rank {} while every rank still answers: {}",
                       what, rank(), reason_of(error));
  }

  LaunchInfo launch_;
  std::shared_ptr<StoreConnection> store_;
  std::unique_ptr<LivenessWatch> watch_;
  std::unique_ptr<c10d_compat::CollectiveBackend> backend_;
  std::int64_t sequence_ = 0;
};

std::string backend_for(const DistributedSettings& settings, const LaunchInfo& launch) {
  std::string name = settings.backend;
  if (name == "auto") name = c10d_compat::has_nccl() && torch::cuda::is_available() ? "nccl" : "gloo";
  if (name == "nccl") {
    if (!c10d_compat::has_nccl()) {
      throw Error("distributed.backend: nccl needs a LibTorch with CUDA, and this build has "
                  "none; use gloo");
    }
    const auto gpus = static_cast<int>(torch::cuda::device_count());
    if (launch.local_rank >= gpus) {
      throw Error(fmt::format("distributed: local rank {} has no GPU of its own ({} visible); "
                              "start at most {} ranks per machine",
                              launch.local_rank, gpus, gpus));
    }
  } else if (name != "gloo") {
    throw Error(fmt::format("distributed.backend: unknown backend '{}'; expected auto, gloo or nccl", name));
  }
  return name;
}

std::shared_ptr<StoreConnection> connect(const LaunchInfo& launch, bool serve,
                                         std::chrono::milliseconds timeout,
                                         const std::string& where) {
  try {
    return c10d_compat::connect_store(launch.master_addr, launch.master_port, serve, timeout,
                                      launch.store_key_prefix);
  } catch (const std::exception& error) {
    if (serve) {
      throw Error(fmt::format("distributed: rank 0 cannot host the rendezvous store on port {} "
                              "(is it in use?): {}",
                              launch.master_port, reason_of(error)));
    }
    throw Error(fmt::format("distributed: rank {} cannot reach the rendezvous store at {} within "
                            "{:.0f} s (distributed.timeout): {}; check MASTER_ADDR and MASTER_PORT "
                            "(or distributed.master_addr and master_port) and that rank 0 runs",
                            launch.rank, where, seconds(timeout), reason_of(error)));
  }
}

// Waits until `key` is set, for at most `timeout`.
std::optional<std::string> value_within(StoreConnection& store, const std::string& key,
                                        Clock::time_point deadline) {
  while (true) {
    if (std::optional<std::string> value = store.try_get(key)) return value;
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(kPollPeriod);
  }
}

// Rank 0 checks that every rank arrived with the same world size and job, and posts its
// verdict; the others wait for it. Returns the verdict ("ok" or the reason).
std::string check_ranks_agree(StoreConnection& store, const LaunchInfo& launch,
                              const std::string& job_identity, std::chrono::milliseconds timeout,
                              const std::string& where) {
  const int rank = launch.rank;
  if (store.add(job_key("claim", rank), 1) > 1) {
    const std::string problem = fmt::format("two processes were started as rank {}", rank);
    store.set("omni/verdict", problem);
    return problem;
  }
  store.set(job_key("world", rank), std::to_string(launch.world_size));
  store.set(job_key("job", rank), job_identity);
  const auto deadline = Clock::now() + timeout;
  if (rank != 0) {
    // Rank 0 may wait up to the timeout for a late rank before it answers.
    std::optional<std::string> verdict = value_within(store, "omni/verdict", deadline + timeout);
    if (!verdict) {
      return fmt::format("rank 0 at {} gave no answer within {:.0f} s", where, 2 * seconds(timeout));
    }
    store.add("omni/verdict-read", 1);
    return *verdict;
  }
  std::vector<int> missing;
  std::string problem;
  for (int r = 1; r < launch.world_size; ++r) {
    const std::optional<std::string> job = value_within(store, job_key("job", r), deadline);
    if (!job) {
      missing.push_back(r);
      continue;
    }
    const std::string world = store.try_get(job_key("world", r)).value_or("?");
    if (problem.empty() && world != std::to_string(launch.world_size)) {
      problem = fmt::format("rank {} was started with a world size of {} and rank 0 with {}; "
                            "start every rank with the same world size",
                            r, world, launch.world_size);
    } else if (problem.empty() && *job != job_identity) {
      problem = fmt::format("rank {} runs another job than rank 0 (rank {}: {}; rank 0: {}); every "
                            "rank must run the same config, --set options and omnihost build",
                            r, r, *job, job_identity);
    }
  }
  if (problem.empty() && !missing.empty()) {
    problem = fmt::format("rank{} {} of {} did not join within {:.0f} s (distributed.timeout); "
                          "rank 0 waits at {}",
                          missing.size() > 1 ? "s" : "", fmt::join(missing, ", "),
                          launch.world_size, seconds(timeout), where);
  }
  const std::string verdict = problem.empty() ? "ok" : problem;
  store.set("omni/verdict", verdict);
  if (verdict != "ok") {
    // The store lives in this process: give the ranks that came a moment to read why they
    // stop, rather than a lost connection.
    const auto joined = static_cast<std::int64_t>(launch.world_size - 1 - missing.size());
    const auto read_deadline = Clock::now() + std::min<std::chrono::milliseconds>(timeout, std::chrono::seconds(10));
    while (store.add("omni/verdict-read", 0) < joined && Clock::now() < read_deadline) {
      std::this_thread::sleep_for(kPollPeriod);
    }
  }
  return verdict;
}

}  // namespace

std::unique_ptr<ProcessGroup> join_process_group(const LaunchInfo& launch,
                                                 const DistributedSettings& settings,
                                                 const std::string& job_identity) {
  const std::string where = fmt::format("{}:{}", launch.master_addr, launch.master_port);
  const std::string backend = backend_for(settings, launch);
  const std::chrono::milliseconds timeout = settings.timeout;
  // torchrun's agent already hosts a store at MASTER_ADDR:MASTER_PORT for its workers.
  const bool serve = launch.rank == 0 && !launch.launcher_hosts_store;
  std::shared_ptr<StoreConnection> store = connect(launch, serve, timeout, where);
  std::string verdict;
  try {
    verdict = check_ranks_agree(*store, launch, job_identity, timeout, where);
  } catch (const std::exception& error) {
    throw Error(fmt::format("distributed: rank {} lost the rendezvous store at {}: {}", launch.rank,
                            where, reason_of(error)));
  }
  if (verdict != "ok") throw Error("distributed: " + verdict);
  // The watch talks to the store over a connection of its own, from its own thread.
  std::shared_ptr<StoreConnection> watch_store = connect(launch, false, timeout, where);
  auto group = std::make_unique<C10dProcessGroup>(launch, store, watch_store, timeout, where);
  group->start_backend(backend);
  set_default_cuda_index(launch.local_rank);
  return group;
}

}  // namespace omni
