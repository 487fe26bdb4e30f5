// Where this process stands in its job, read from the variables that torchrun, Open MPI's
// mpirun and Slurm's srun set; and which GPU "cuda" means for it.
#include <atomic>
#include <cctype>
#include <charconv>
#include <cstdlib>

#include <fmt/format.h>

#include "omni/distributed.hpp"
#include "omni/error.hpp"

namespace omni {
namespace {

// A whole non-negative number, or nothing.
std::optional<int> whole_number(std::string_view text) {
  int value = 0;
  const char* end = text.data() + text.size();
  auto [last, error] = std::from_chars(text.data(), end, value);
  if (text.empty() || error != std::errc() || last != end || value < 0) return std::nullopt;
  return value;
}

class LaunchVariables {
 public:
  LaunchVariables(const EnvironmentLookup& lookup, std::string launcher)
      : lookup_(lookup), launcher_(std::move(launcher)) {}

  bool has(const std::string& name) const { return lookup_(name).has_value(); }

  int number(const std::string& name) const {
    const std::optional<std::string> text = lookup_(name);
    if (!text) {
      throw Error(fmt::format("distributed: launched by {} but {} is not set", launcher_, name));
    }
    const std::optional<int> value = whole_number(*text);
    if (!value) {
      throw Error(fmt::format("distributed: {}='{}' (set by {}) is not a whole number", name,
                              *text, launcher_));
    }
    return *value;
  }

  int number_or(const std::string& name, int fallback) const {
    return has(name) ? number(name) : fallback;
  }

  std::optional<std::string> text(const std::string& name) const { return lookup_(name); }

 private:
  const EnvironmentLookup& lookup_;
  std::string launcher_;
};

// Slurm's tasks per node, "2(x3),1" or "4": the first node's count, the one rank 0 shares.
int slurm_tasks_on_first_node(const LaunchVariables& vars) {
  if (vars.has("SLURM_NTASKS_PER_NODE")) return vars.number("SLURM_NTASKS_PER_NODE");
  for (const char* name : {"SLURM_STEP_TASKS_PER_NODE", "SLURM_TASKS_PER_NODE"}) {
    if (std::optional<std::string> text = vars.text(name)) {
      const std::string leading = text->substr(0, text->find_first_not_of("0123456789"));
      if (std::optional<int> count = whole_number(leading)) return *count;
    }
  }
  return 1;
}

void check_position(const LaunchInfo& info, std::string_view rank_name,
                    std::string_view size_name) {
  if (info.world_size < 1) {
    throw Error(fmt::format("distributed: {} is {}; expected at least 1", size_name,
                            info.world_size));
  }
  if (info.rank >= info.world_size) {
    throw Error(fmt::format("distributed: {}={} is not below {}={}", rank_name, info.rank,
                            size_name, info.world_size));
  }
}

std::atomic<int> default_cuda_index{-1};

// The variables one launcher sets.
struct LauncherNames {
  const char* launcher;
  const char* rank;
  const char* size;
  const char* local_rank;
  const char* local_size;  // null: Slurm's tasks per node
  const char* marker;      // also required, when not null
};

}  // namespace

std::string first_slurm_host(std::string_view node_list) {
  // The first entry at bracket depth 0: "gpu[07-09,12]" of "gpu[07-09,12],cpu1".
  std::size_t end = 0;
  int depth = 0;
  for (; end < node_list.size(); ++end) {
    const char c = node_list[end];
    if (c == '[') depth += 1;
    if (c == ']') depth -= 1;
    if (c == ',' && depth == 0) break;
  }
  const std::string_view entry = node_list.substr(0, end);
  const std::size_t open = entry.find('[');
  if (open == std::string_view::npos) {
    if (entry.empty()) throw Error("distributed: the Slurm node list is empty");
    return std::string(entry);
  }
  const std::size_t close = entry.find(']', open);
  if (close == std::string_view::npos) {
    throw Error(fmt::format("distributed: the Slurm node list '{}' has an unclosed '['", node_list));
  }
  // The first range's first number, with its zero padding: "07" of "07-09,12".
  const std::string_view ranges = entry.substr(open + 1, close - open - 1);
  const std::string_view first = ranges.substr(0, ranges.find_first_of(",-"));
  if (first.empty() || first.find_first_not_of("0123456789") != std::string_view::npos) {
    throw Error(fmt::format("distributed: cannot read the first host of the Slurm node list '{}'",
                            node_list));
  }
  return fmt::format("{}{}{}", entry.substr(0, open), first, entry.substr(close + 1));
}

LaunchInfo detect_launch(const EnvironmentLookup& lookup, const DistributedSettings& settings) {
  // torchrun (and launchers that speak its variables, such as accelerate's), Open MPI, and a
  // task of `srun` (SLURM_STEP_ID tells it from the batch script itself, where SLURM_PROCID
  // is 0 and no other task runs). The first whose variables are set wins.
  static const LauncherNames kLaunchers[] = {
      {"torchrun", "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", nullptr},
      {"mpirun", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK",
       "OMPI_COMM_WORLD_LOCAL_SIZE", nullptr},
      {"srun", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", nullptr, "SLURM_STEP_ID"},
  };
  LaunchInfo info;
  const LauncherNames* names = nullptr;
  for (const LauncherNames& candidate : kLaunchers) {
    if (lookup(candidate.rank) && lookup(candidate.size) &&
        (candidate.marker == nullptr || lookup(candidate.marker))) {
      names = &candidate;
      break;
    }
  }
  if (names == nullptr) return info;  // not launched as a group
  const LaunchVariables vars(lookup, names->launcher);
  info.launcher = names->launcher == std::string_view("srun") ? "slurm" : names->launcher;
  info.rank = vars.number(names->rank);
  info.world_size = vars.number(names->size);
  check_position(info, names->rank, names->size);
  info.local_rank = vars.number_or(names->local_rank, 0);
  info.local_world_size = names->local_size ? vars.number_or(names->local_size, 1)
                                            : slurm_tasks_on_first_node(vars);
  std::optional<std::string> address = vars.text("MASTER_ADDR");
  if (info.launcher == "slurm") {
    // Rank 0 runs on the step's first node.
    for (const char* name : {"SLURM_STEP_NODELIST", "SLURM_JOB_NODELIST"}) {
      if (std::optional<std::string> nodes = vars.text(name)) {
        address = first_slurm_host(*nodes);
        break;
      }
    }
  }
  std::optional<int> port;
  if (vars.has("MASTER_PORT")) port = vars.number("MASTER_PORT");
  if (info.launcher == "torchrun" && vars.text("TORCHELASTIC_USE_AGENT_STORE") == std::optional<std::string>("True")) {
    info.launcher_hosts_store = true;
    info.store_key_prefix = fmt::format("omnihost/restart-{}/", vars.number_or("TORCHELASTIC_RESTART_COUNT", 0));
  }
  if (settings.master_addr) address = settings.master_addr;
  if (settings.master_port) port = settings.master_port;
  if (!address || address->empty()) {
    throw Error(fmt::format(
        "distributed: {} gives no rendezvous address; set distributed.master_addr in the "
        "config or MASTER_ADDR in the environment (the host of rank 0)",
        names->launcher));
  }
  info.master_addr = *address;
  info.master_port = port.value_or(kDefaultMasterPort);
  if (info.master_port < 1 || info.master_port > 65535) {
    throw Error(fmt::format("distributed: the rendezvous port {} is not a TCP port (1 to 65535)",
                            info.master_port));
  }
  if (info.local_world_size < 1) info.local_world_size = 1;
  if (info.local_rank >= info.local_world_size && info.launcher != "slurm") {
    info.local_world_size = info.local_rank + 1;
  }
  return info;
}

LaunchInfo detect_launch(const DistributedSettings& settings) {
  return detect_launch(
      [](const std::string& name) -> std::optional<std::string> {
        const char* value = std::getenv(name.c_str());
        if (value == nullptr) return std::nullopt;
        return std::string(value);
      },
      settings);
}

void set_default_cuda_index(int index) { default_cuda_index.store(index); }

std::string resolve_default_cuda(std::string_view device_text) {
  const int index = default_cuda_index.load();
  if (device_text == "cuda" && index >= 0) return fmt::format("cuda:{}", index);
  return std::string(device_text);
}

}  // namespace omni
