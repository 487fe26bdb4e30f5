#include "distributed_job.hpp"

#include <fmt/format.h>

#include "omni/build_fingerprint.hpp"
#include "omni/crc32c.hpp"
#include "omni/error.hpp"

namespace omni::host {

DistributedSettings read_distributed_settings(const ConfigView& root) {
  DistributedSettings settings;
  const ConfigView section = root.child_or_empty("distributed");
  settings.backend = section.get_enum("backend", {"auto", "gloo", "nccl"}, "auto");
  const double timeout = section.get<double>("timeout", 180.0);
  if (!(timeout >= 1.0 && timeout <= 7 * 24 * 3600.0)) {
    section.fail("timeout", "expected the seconds a rank may be silent, from 1 to 604800");
  }
  settings.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(timeout * 1000.0));
  settings.master_addr = section.get_optional<std::string>("master_addr");
  if (settings.master_addr && settings.master_addr->empty()) {
    section.fail("master_addr", "expected the host name or address of rank 0's machine");
  }
  settings.master_port = section.get_optional<int>("master_port");
  if (settings.master_port && (*settings.master_port < 1 || *settings.master_port > 65535)) {
    section.fail("master_port", "expected a TCP port, 1 to 65535");
  }
  return settings;
}

JobGroup join_job_group(const PreparedJob& job) {
  JobGroup joined;
  joined.launch = detect_launch(job.distributed);
  if (joined.launch.launcher.empty()) return joined;
  const OmniBuildFingerprint build = OMNI_BUILD_FINGERPRINT;
  const std::string identity =
      fmt::format("config crc32c {:08x}, build {} LibTorch {}{}", crc32c(job.document.to_yaml()),
                  build.compiler, build.torch_version, build.cuda ? " CUDA" : "");
  joined.group = join_process_group(joined.launch, job.distributed, identity);
  return joined;
}

}  // namespace omni::host
