// Data-parallel jobs on c10d's Gloo backend: the launchers' variables, and whole `omnihost
// run` processes on 127.0.0.1 that must train what one process trains, resume each other's
// checkpoints, and fail quickly and by name when a rank dies, freezes or disagrees.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <atomic>
#include <map>
#include <thread>

#include <ATen/ATen.h>
#include <doctest/doctest.h>

#include "omni/distributed.hpp"
#include "omni/error.hpp"
#include "omni/safetensors.hpp"
#include "test_support.hpp"

namespace {

namespace fs = std::filesystem;
using omni::test::quote;
using omni::test::run_shell;

omni::EnvironmentLookup lookup_in(std::map<std::string, std::string> variables) {
  return [variables = std::move(variables)](const std::string& name) -> std::optional<std::string> {
    auto found = variables.find(name);
    if (found == variables.end()) return std::nullopt;
    return found->second;
  };
}

std::string launch_error(const std::map<std::string, std::string>& variables,
                         const omni::DistributedSettings& settings = {}) {
  try {
    omni::detect_launch(lookup_in(variables), settings);
  } catch (const omni::Error& error) {
    return error.what();
  }
  return "(no error)";
}

// A TCP port that nothing listens on right now.
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
  socklen_t size = sizeof(address);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) == 0);
  ::close(fd);
  return ntohs(address.sin_port);
}

std::string read_text(const fs::path& file) {
  std::ifstream in(file);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The quickstart config, shortened, as one process or one rank runs it from `folder` (its
// relative paths land there).
std::string quickstart_command(const fs::path& folder, const std::string& extra) {
  const std::string config = (omni::test::source_dir() / "configs/quickstart.yaml").string();
  return "cd " + quote(folder.string()) + " && env -u OMNI_PLUGIN_PATH " +
         quote(omni::test::host_exe().string()) + " run " + quote(config) +
         " --mode fit --threads 1 --set make_missing.train_samples=8 --set validation.enabled=false"
         " --set train.log_every=1 --set train.seed=7" + extra;
}

struct RankOutcome {
  int exit_code = -1;
  std::string output;
};

// Runs `ranks` torchrun-style ranks of the shortened quickstart on 127.0.0.1, each with its
// own `--set` options, and waits for all of them.
std::vector<RankOutcome> run_ranks(const fs::path& folder, const std::vector<std::string>& extras,
                                   const std::string& common = "",
                                   const std::string& master_addr = "127.0.0.1") {
  const int port = free_port();
  const auto world = extras.size();
  std::string script;
  for (std::size_t r = 0; r < world; ++r) {
    const fs::path log = folder / ("rank-" + std::to_string(r) + ".log");
    const fs::path rc = folder / ("rank-" + std::to_string(r) + ".rc");
    script += "(env RANK=" + std::to_string(r) + " LOCAL_RANK=" + std::to_string(r) +
              " WORLD_SIZE=" + std::to_string(world) + " LOCAL_WORLD_SIZE=" + std::to_string(world) +
              " MASTER_ADDR=" + master_addr + " MASTER_PORT=" + std::to_string(port) + " sh -c " +
              quote(quickstart_command(folder, common + extras[r])) + " > " + quote(log.string()) +
              " 2>&1; echo $? > " + quote(rc.string()) + ") & ";
  }
  // A hang guard only: a broken build must not stall CI for ever.
  run_shell("timeout 600 sh -c " + quote(script + "wait"));
  std::vector<RankOutcome> outcomes(world);
  for (std::size_t r = 0; r < world; ++r) {
    outcomes[r].output = read_text(folder / ("rank-" + std::to_string(r) + ".log"));
    const std::string rc = read_text(folder / ("rank-" + std::to_string(r) + ".rc"));
    outcomes[r].exit_code = rc.empty() ? -1 : std::stoi(rc);
  }
  return outcomes;
}

std::vector<fs::path> run_folders(const fs::path& output) {
  std::vector<fs::path> runs;
  if (!fs::exists(output)) return runs;
  for (const auto& entry : fs::directory_iterator(output)) {
    if (entry.path().filename().string().rfind("run-", 0) == 0) runs.push_back(entry.path());
  }
  return runs;
}

fs::path only_run_folder(const fs::path& output) {
  const auto runs = run_folders(output);
  REQUIRE(runs.size() == 1);
  return runs.front();
}

// A copy of `run`'s checkpoint of `step` as the only checkpoint of a new run folder under
// `parent` (a resumed run writes into its checkpoint's run folder); returns the copy.
fs::path copied_checkpoint(const fs::path& run, int step, const fs::path& parent) {
  const std::string name = "checkpoint-" + std::to_string(step);
  const fs::path copy = parent / "run-copy" / "checkpoints" / name;
  fs::create_directories(copy.parent_path());
  fs::copy(run / "checkpoints" / name, copy, fs::copy_options::recursive);
  return copy;
}

// The largest difference between two LoRA files with the same tensors.
double lora_difference(const fs::path& a, const fs::path& b) {
  auto first = omni::SafetensorsFile::open(a);
  auto second = omni::SafetensorsFile::open(b);
  REQUIRE(first->names() == second->names());
  REQUIRE(!first->names().empty());
  double largest = 0;
  for (const std::string& name : first->names()) {
    largest = std::max(largest, (first->tensor(name) - second->tensor(name)).abs().max().item<double>());
  }
  return largest;
}

}  // namespace

TEST_SUITE("distributed") {
  TEST_CASE("torchrun, mpirun and srun variables give the rank, the world and the rendezvous") {
    const omni::DistributedSettings defaults;
    omni::LaunchInfo info = omni::detect_launch(lookup_in({}), defaults);
    CHECK(info.launcher.empty());
    CHECK(info.world_size == 1);

    info = omni::detect_launch(lookup_in({{"RANK", "3"}, {"WORLD_SIZE", "8"}, {"LOCAL_RANK", "1"},
                                          {"LOCAL_WORLD_SIZE", "2"}, {"MASTER_ADDR", "node7"},
                                          {"MASTER_PORT", "29411"}}),
                               defaults);
    CHECK(info.launcher == "torchrun");
    CHECK(info.rank == 3);
    CHECK(info.world_size == 8);
    CHECK(info.local_rank == 1);
    CHECK(info.local_world_size == 2);
    CHECK(info.master_addr == "node7");
    CHECK(info.master_port == 29411);
    CHECK_FALSE(info.launcher_hosts_store);
    // torchrun's agent hosts the store and keeps it across restarts: keys per restart.
    info = omni::detect_launch(lookup_in({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "node7"},
                                          {"TORCHELASTIC_USE_AGENT_STORE", "True"},
                                          {"TORCHELASTIC_RESTART_COUNT", "2"}}),
                               defaults);
    CHECK(info.launcher_hosts_store);
    CHECK(info.store_key_prefix == "omnihost/restart-2/");

    info = omni::detect_launch(lookup_in({{"OMPI_COMM_WORLD_RANK", "2"}, {"OMPI_COMM_WORLD_SIZE", "4"},
                                          {"OMPI_COMM_WORLD_LOCAL_RANK", "0"},
                                          {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"},
                                          {"MASTER_ADDR", "10.0.0.5"}}),
                               defaults);
    CHECK(info.launcher == "mpirun");
    CHECK(info.rank == 2);
    CHECK(info.world_size == 4);
    CHECK(info.local_world_size == 2);
    CHECK(info.master_addr == "10.0.0.5");
    CHECK(info.master_port == omni::kDefaultMasterPort);

    const std::map<std::string, std::string> slurm = {
        {"SLURM_PROCID", "5"}, {"SLURM_NTASKS", "8"}, {"SLURM_LOCALID", "1"},
        {"SLURM_STEP_ID", "0"}, {"SLURM_STEP_NODELIST", "gpu[07-09,12],cpu1"},
        {"SLURM_JOB_NODELIST", "other"}, {"SLURM_STEP_TASKS_PER_NODE", "4(x2)"}};
    info = omni::detect_launch(lookup_in(slurm), defaults);
    CHECK(info.launcher == "slurm");
    CHECK(info.rank == 5);
    CHECK(info.world_size == 8);
    CHECK(info.local_rank == 1);
    CHECK(info.local_world_size == 4);
    CHECK(info.master_addr == "gpu07");
    CHECK(info.master_port == omni::kDefaultMasterPort);

    // The config's rendezvous wins over the environment's.
    omni::DistributedSettings settings;
    settings.master_addr = "login1";
    settings.master_port = 31000;
    info = omni::detect_launch(lookup_in(slurm), settings);
    CHECK(info.master_addr == "login1");
    CHECK(info.master_port == 31000);

    // The batch script itself (no job step) is not a rank of a group.
    auto batch_script = slurm;
    batch_script.erase("SLURM_STEP_ID");
    CHECK(omni::detect_launch(lookup_in(batch_script), defaults).launcher.empty());
  }

  TEST_CASE("a malformed launch environment is a clear error naming the variable") {
    CHECK(launch_error({{"RANK", "one"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}}) ==
          "distributed: RANK='one' (set by torchrun) is not a whole number");
    CHECK(launch_error({{"RANK", "2"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}}) ==
          "distributed: RANK=2 is not below WORLD_SIZE=2");
    CHECK(launch_error({{"RANK", "0"}, {"WORLD_SIZE", "0"}, {"MASTER_ADDR", "h"}}) ==
          "distributed: WORLD_SIZE is 0; expected at least 1");
    const std::string no_address = launch_error({{"OMPI_COMM_WORLD_RANK", "0"}, {"OMPI_COMM_WORLD_SIZE", "2"}});
    CHECK(no_address.find("mpirun gives no rendezvous address; set distributed.master_addr") != std::string::npos);
    CHECK(launch_error({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "x"}}) ==
          "distributed: MASTER_PORT='x' (set by torchrun) is not a whole number");
    CHECK(launch_error({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "70000"}}) ==
          "distributed: the rendezvous port 70000 is not a TCP port (1 to 65535)");
  }

  TEST_CASE("the first host of a Slurm node list") {
    CHECK(omni::first_slurm_host("node01") == "node01");
    CHECK(omni::first_slurm_host("node01,node02") == "node01");
    CHECK(omni::first_slurm_host("gpu[07-09,12],cpu1") == "gpu07");
    CHECK(omni::first_slurm_host("gpu[3,5]") == "gpu3");
    CHECK(omni::first_slurm_host("rack[001-004]-ib") == "rack001-ib");
    CHECK_THROWS_WITH_AS(omni::first_slurm_host("gpu[07"), doctest::Contains("unclosed '['"), omni::Error);
    CHECK_THROWS_AS(omni::first_slurm_host(""), omni::Error);
  }

  TEST_CASE("\"cuda\" is the rank's own GPU once a group sets it; explicit entries stay") {
    omni::set_default_cuda_index(1);
    CHECK(omni::resolve_default_cuda("cuda") == "cuda:1");
    CHECK(omni::resolve_default_cuda("cuda:0") == "cuda:0");
    CHECK(omni::resolve_default_cuda("cpu") == "cpu");
    omni::set_default_cuda_index(-1);
    CHECK(omni::resolve_default_cuda("cuda") == "cuda");
  }

  TEST_CASE("the single-process group leaves tensors as they are and runs shared work once") {
    omni::ProcessGroup& group = omni::single_process_group();
    CHECK(group.world_size() == 1);
    at::Tensor gradient = at::ones({3});
    group.all_reduce_sum_in_buckets({gradient});
    CHECK(gradient.sum().item<double>() == 3.0);
    int runs = 0;
    group.main_rank_first("testing", [&] { runs += 1; });
    CHECK(runs == 1);
    CHECK(group.share_from_main("key", "value") == "value");
  }

  TEST_CASE("a c10d group of two ranks sums in buckets, broadcasts, shares and lets rank 0 go first") {
    omni::DistributedSettings settings;
    settings.backend = "gloo";
    settings.timeout = std::chrono::seconds(20);
    const int port = free_port();
    std::atomic<int> order{0};
    std::vector<std::string> failures(2);
    std::vector<at::Tensor> summed(2), bucketed(2), halves(2), broadcasted(2);
    std::vector<std::string> shared(2);
    std::vector<int> turns(2, -1);
    auto rank_body = [&](int rank) {
      try {
        omni::LaunchInfo launch;
        launch.launcher = "torchrun";
        launch.rank = rank;
        launch.world_size = 2;
        launch.master_addr = "127.0.0.1";
        launch.master_port = port;
        std::unique_ptr<omni::ProcessGroup> group = omni::join_process_group(launch, settings, "same job");
        // Rank 0's work finishes before rank 1's starts.
        group->main_rank_first("testing", [&] {
          if (rank == 0) std::this_thread::sleep_for(std::chrono::milliseconds(300));
          turns[static_cast<std::size_t>(rank)] = order++;
        });
        summed[static_cast<std::size_t>(rank)] = at::full({5}, rank + 1.0);
        group->all_reduce_sum(summed[static_cast<std::size_t>(rank)]);
        // 12 floats of 4 bytes in buckets of at most 16 bytes, two dtypes: several collectives.
        bucketed[static_cast<std::size_t>(rank)] = at::arange(12, at::kFloat).view({3, 4}) * (rank + 1);
        halves[static_cast<std::size_t>(rank)] = at::full({2}, rank + 1.0, at::kDouble);
        group->all_reduce_sum_in_buckets({bucketed[static_cast<std::size_t>(rank)].narrow(0, 0, 1),
                                          bucketed[static_cast<std::size_t>(rank)].narrow(0, 1, 2),
                                          halves[static_cast<std::size_t>(rank)]},
                                         16);
        broadcasted[static_cast<std::size_t>(rank)] = at::full({3}, rank == 1 ? 7.0 : 0.0);
        group->broadcast(broadcasted[static_cast<std::size_t>(rank)], 1);
        shared[static_cast<std::size_t>(rank)] = group->share_from_main("word", rank == 0 ? "from rank 0" : "");
        group->barrier("the end");
        group->finish();
      } catch (const std::exception& error) {
        failures[static_cast<std::size_t>(rank)] = error.what();
      }
    };
    std::thread second(rank_body, 1);
    rank_body(0);
    second.join();
    omni::set_default_cuda_index(-1);
    CHECK(failures[0] == "");
    CHECK(failures[1] == "");
    REQUIRE(failures[0].empty());
    REQUIRE(failures[1].empty());
    CHECK(turns[0] == 0);
    CHECK(turns[1] == 1);
    for (int rank = 0; rank < 2; ++rank) {
      const auto r = static_cast<std::size_t>(rank);
      CHECK(at::equal(summed[r], at::full({5}, 3.0)));
      CHECK(at::equal(bucketed[r], at::arange(12, at::kFloat).view({3, 4}) * 3));
      CHECK(at::equal(halves[r], at::full({2}, 3.0, at::kDouble)));
      CHECK(at::equal(broadcasted[r], at::full({3}, 7.0)));
      CHECK(shared[r] == "from rank 0");
    }
  }

  TEST_CASE("two ranks with batch 1 train the LoRA of one process with batch 2, and resume each other") {
    omni::test::TempDir dir;
    const fs::path folder = dir.path();
    const std::string steps = " --set train.max_train_steps=6 --set train.checkpointing_steps=3";
    // One process, batch 2; it also makes the tiny model and the data set.
    auto single = run_shell(quickstart_command(folder, steps + " --set data.batch_size=2 --set logging.output_dir=one"));
    CAPTURE(single.output);
    REQUIRE(single.exit_code == 0);
    const fs::path one = only_run_folder(folder / "one");

    // Two ranks, batch 1 each, with a cache of their own: rank 0 fills it while rank 1 waits.
    const std::string two_ranks = steps + " --set data.batch_size=1 --set logging.output_dir=two"
                                          " --set cache.cache_dir=output/cache-two";
    auto ranks = run_ranks(folder, {two_ranks, two_ranks});
    CAPTURE(ranks[0].output);
    CAPTURE(ranks[1].output);
    REQUIRE(ranks[0].exit_code == 0);
    REQUIRE(ranks[1].exit_code == 0);
    CHECK(ranks[1].output.find("rank 1 waits while rank 0 is preparing the data set and the cache") != std::string::npos);
    CHECK(ranks[1].output.find("all 8 samples are cached") != std::string::npos);
    CHECK(ranks[0].output.find("global batch     2 samples per step (batch 1 x 2 ranks") != std::string::npos);
    // Only rank 0 writes: one run folder, one LoRA, one event file.
    const fs::path two = only_run_folder(folder / "two");
    CHECK(lora_difference(one / "pytorch_lora_weights.safetensors",
                          two / "pytorch_lora_weights.safetensors") < 1e-5);

    // A second 2-rank run finds the cache ready.
    auto again = run_ranks(folder, {two_ranks, two_ranks});
    REQUIRE(again[0].exit_code == 0);
    CHECK(again[0].output.find("all 8 samples are cached") != std::string::npos);

    // The 2-rank checkpoint of step 3, resumed by one process with batch 2 ...
    const fs::path from_two = copied_checkpoint(two, 3, folder / "resume-one");
    auto resumed = run_shell(quickstart_command(folder, steps + " --set data.batch_size=2 --resume " +
                                                            quote(from_two.string())));
    CAPTURE(resumed.output);
    REQUIRE(resumed.exit_code == 0);
    CHECK(lora_difference(one / "pytorch_lora_weights.safetensors",
                          from_two / "../.." / "pytorch_lora_weights.safetensors") < 1e-5);

    // ... and the 1-process checkpoint of step 3 resumed by two ranks with batch 1.
    const fs::path from_one = copied_checkpoint(one, 3, folder / "resume-two");
    const std::string resume = steps + " --set data.batch_size=1 --resume " + quote(from_one.string());
    auto resumed_ranks = run_ranks(folder, {resume, resume});
    CAPTURE(resumed_ranks[0].output);
    REQUIRE(resumed_ranks[0].exit_code == 0);
    REQUIRE(resumed_ranks[1].exit_code == 0);
    CHECK(lora_difference(one / "pytorch_lora_weights.safetensors",
                          from_one / "../.." / "pytorch_lora_weights.safetensors") < 1e-5);

    // With another global batch the interrupted epoch cannot continue exactly: it is skipped.
    const fs::path other_batch = copied_checkpoint(one, 3, folder / "resume-other");
    auto other = run_shell(quickstart_command(folder, steps + " --set data.batch_size=1 --resume " +
                                                          quote(other_batch.string())));
    CAPTURE(other.output);
    REQUIRE(other.exit_code == 0);
    CHECK(other.output.find("written with a global batch of 2 samples and this run has 1; the rest "
                            "of epoch 0 is skipped") != std::string::npos);
  }

  TEST_CASE("a rank killed or frozen mid-training stops the other with a message naming it") {
    omni::test::TempDir dir;
    const fs::path folder = dir.path();
    const int port = free_port();
    const std::string endless = " --set train.max_train_steps=1000000 --set train.checkpointing_steps=1000000"
                                " --set train.log_every=1000000 --set data.batch_size=1"
                                " --set distributed.timeout=5 --set logging.output_dir=out";
    for (const char* signal : {"KILL", "STOP"}) {
      CAPTURE(signal);
      // Rank 1 is signalled once both ranks train (rank 1 says so after rank 0 has prepared).
      const std::string rank = "env WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" +
                               std::to_string(port + (signal[0] == 'K' ? 0 : 1)) + " ";
      std::string victim = quickstart_command(folder, endless);
      victim.replace(victim.find("&& env"), 6, "&& exec env");  // $! is omnihost itself
      const std::string script =
          "(" + rank + "RANK=0 sh -c " + quote(quickstart_command(folder, endless)) +
          " > rank-0.log 2>&1; echo $? > rank-0.rc) & first=$!; " + rank + "RANK=1 sh -c " +
          quote(victim) + " > rank-1.log 2>&1 & victim=$!; "
          "for i in $(seq 600); do grep -q 'global batch' rank-1.log && break; sleep 0.1; done; "
          "sleep 1; kill -" + std::string(signal) + " $victim; wait $first; kill -KILL $victim 2> /dev/null; wait";
      run_shell("cd " + quote(folder.string()) + " && timeout 300 sh -c " + quote(script));
      const std::string output = read_text(folder / "rank-0.log");
      CAPTURE(output);
      CHECK(read_text(folder / "rank-0.rc") == "1\n");
      if (signal[0] == 'K') {
        CHECK(output.find("distributed: an all-reduce failed on rank 0: rank 1 stopped responding") != std::string::npos);
      } else {
        CHECK(output.find("distributed: rank 1 has not responded for 5 s (distributed.timeout)") != std::string::npos);
      }
    }
  }

  TEST_CASE("ranks that disagree, or do not come, refuse to start with a one-line reason") {
    omni::test::TempDir dir;
    const fs::path folder = dir.path();
    const std::string quick = " --set distributed.timeout=3 --set logging.output_dir=out";
    auto seeds = run_ranks(folder, {quick + " --set train.seed=1", quick + " --set train.seed=2"});
    CAPTURE(seeds[0].output);
    CAPTURE(seeds[1].output);
    CHECK(seeds[0].exit_code == 1);
    CHECK(seeds[1].exit_code == 1);
    for (const RankOutcome& outcome : seeds) {
      CHECK(outcome.output.find("distributed: rank 1 runs another job than rank 0") != std::string::npos);
    }
    CHECK(run_folders(folder / "out").empty());

    // Ranks started with different world sizes.
    const int world_port = free_port();
    std::string script;
    for (const char* rank_and_world : {"0 2", "1 3"}) {
      const std::string rank(1, rank_and_world[0]);
      script += "(env RANK=" + rank + " WORLD_SIZE=" + std::string(1, rank_and_world[2]) +
                " MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(world_port) + " sh -c " +
                quote(quickstart_command(folder, quick)) + " > world-" + rank + ".log 2>&1) & ";
    }
    run_shell("cd " + quote(folder.string()) + " && timeout 300 sh -c " + quote(script + "wait"));
    for (const char* log : {"world-0.log", "world-1.log"}) {
      const std::string output = read_text(folder / log);
      CAPTURE(output);
      CHECK(output.find("distributed: rank 1 was started with a world size of 3 and rank 0 with 2") != std::string::npos);
    }

    // A world of 2 where only rank 0 starts: it names the missing one.
    const int port = free_port();
    auto lonely = run_shell("cd " + quote(folder.string()) + " && env RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 "
                            "MASTER_PORT=" + std::to_string(port) + " sh -c " + quote(quickstart_command(folder, quick)));
    CAPTURE(lonely.output);
    CHECK(lonely.exit_code == 1);
    CHECK(lonely.output.find("distributed: rank 1 of 2 did not join within 3 s (distributed.timeout)") != std::string::npos);

    // A master nobody hosts.
    auto unreachable = run_shell("cd " + quote(folder.string()) + " && env RANK=1 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 "
                                 "MASTER_PORT=" + std::to_string(port) + " sh -c " + quote(quickstart_command(folder, quick)));
    CAPTURE(unreachable.output);
    CHECK(unreachable.exit_code == 1);
    CHECK(unreachable.output.find("distributed: rank 1 cannot reach the rendezvous store at 127.0.0.1:" +
                                  std::to_string(port) + " within 3 s") != std::string::npos);
  }

  TEST_CASE("distributed.master_addr and master_port win over the launcher's, and the backend is checked") {
    omni::test::TempDir dir;
    const fs::path folder = dir.path();
    const int port = free_port();
    // The environment names a host that does not exist; the config's address and port work.
    const std::string rendezvous = " --set train.max_train_steps=2 --set data.batch_size=1"
                                   " --set distributed.timeout=20 --set logging.output_dir=out"
                                   " --set distributed.master_addr=127.0.0.1"
                                   " --set distributed.master_port=" + std::to_string(port);
    auto ranks = run_ranks(folder, {rendezvous, rendezvous}, "", "no-such-host.invalid");
    CAPTURE(ranks[0].output);
    CAPTURE(ranks[1].output);
    CHECK(ranks[0].exit_code == 0);
    CHECK(ranks[1].exit_code == 0);
    CHECK(ranks[1].output.find("rendezvous at 127.0.0.1:" + std::to_string(port)) != std::string::npos);

    // NCCL needs CUDA tensors and a CUDA LibTorch with NCCL: a CPU build refuses it by name.
    const std::string nccl = " --set distributed.backend=nccl --set distributed.timeout=3 --set logging.output_dir=out";
    auto refused = run_ranks(folder, {nccl, nccl});
    CAPTURE(refused[0].output);
    if (!OMNI_WITH_CUDA) {
      CHECK(refused[0].exit_code == 1);
      CHECK(refused[0].output.find("distributed.backend: nccl needs a LibTorch with CUDA") != std::string::npos);
    }
  }
}
