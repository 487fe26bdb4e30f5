#include "host_config.hpp"

#include <iostream>

#include <fmt/format.h>

#include "omni/error.hpp"
#include "omni/trainer.hpp"
#include "distributed_job.hpp"
#include "plugin_search.hpp"

namespace omni::host {

void warn_about_rejected_plugins(const PluginReport& report) {
  for (const RejectedPlugin& rejected : report.rejected) {
    std::cerr << fmt::format("omnihost: warning: plugin {} rejected: {}\n",
                             rejected.file.string(), rejected.reason);
  }
}

PreparedJob prepare_job(const JobRequest& request, Registry& registry) {
  ConfigDocument document = ConfigDocument::from_file(request.config_file);
  for (const std::string& assignment : request.overrides) document.apply_override(assignment);
  document.resolve_references();
  document.set_strict_devices(request.strict_devices);
  ConfigView root = document.root();
  // Every mistake the schemas can see is reported in one message, not one per run.
  document.collect_problems(true);

  PreparedJob job{document, {}, {}, {}, 0, {}, {}};
  try {
    // Plugin folders in the config are relative to the config file, so a project folder can
    // carry its own plugins.
    std::vector<std::filesystem::path> config_plugin_paths;
    for (const std::string& entry : root.get<std::vector<std::string>>("plugin_paths", {})) {
      std::filesystem::path path(entry);
      config_plugin_paths.push_back(path.is_absolute() ? path
                                                       : request.config_file.parent_path() / path);
    }
    job.threads = root.get<int>("threads", 0);
    if (job.threads < 0) root.fail("threads", "expected 0 (one per core) or a positive count");
    if (root.has("mode")) job.mode = root.get_enum("mode", {"cache", "fit", "predict", "all"});
    job.resume = root.get_optional<std::string>("resume");
    job.distributed = read_distributed_settings(root);
    job.trainer = root.get<std::string>("trainer");

    PluginLoader loader(registry);
    job.plugins = loader.load_directories(plugin_search_path(request.plugin_paths,
                                                             config_plugin_paths));
    warn_about_rejected_plugins(job.plugins);

    // Without a trainer there is no schema to check the rest with (nor to know its keys).
    if (job.trainer.empty()) root.fail("trainer", "expected the name of a registered trainer");
    {
      const TrainerFactory* factory = nullptr;
      try {
        factory = &registry.trainer(job.trainer);
      } catch (const ConfigError&) {
        throw;
      } catch (const Error& error) {
        root.fail("trainer", error.what());
      }
      factory->validate(root, registry);
    }
  } catch (const ConfigError& error) {
    document.throw_with_problems(error);
  }
  document.check_unknown_keys();
  // The trainer reads the document again when it is created; from here on, errors throw.
  document.collect_problems(false);
  // Keys accepted for upstream configs but without effect here say so, once per command.
  for (const std::string& warning : document.warnings()) std::cerr << "warning: " << warning << "\n";
  return job;
}

}  // namespace omni::host
