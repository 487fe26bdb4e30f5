// The YAML config loader: parsing, `--set` overrides, `${a.b}` references, and every typed
// read a schema can make, on every key of the document.
#include <string>

#include "fuzz_targets.hpp"
#include "omni/config.hpp"

namespace omni::fuzz {
namespace {

// Reads `key` of `view` as every type and shape a schema could ask for, then descends.
void read_every_way(const ConfigView& view, const std::string& key, int depth);

void walk(const ConfigView& view, int depth) {
  // The depth guard only bounds this walk; the document itself may nest deeper.
  if (depth > 32 || !view.node().IsMap()) return;
  for (const auto& entry : view.node()) {
    if (!entry.first.IsScalar()) continue;
    read_every_way(view, entry.first.Scalar(), depth);
  }
}

void read_every_way(const ConfigView& view, const std::string& key, int depth) {
  (void)view.has(key);
  attempt([&] { (void)view.get<bool>(key); });
  attempt([&] { (void)view.get<int>(key); });
  attempt([&] { (void)view.get<long>(key, 7L); });
  attempt([&] { (void)view.get<double>(key); });
  attempt([&] { (void)view.get<std::string>(key); });
  attempt([&] { (void)view.get<std::filesystem::path>(key); });
  attempt([&] { (void)view.get_optional<std::vector<std::string>>(key); });
  attempt([&] { (void)view.get<std::vector<int>>(key); });
  attempt([&] { (void)view.get<std::vector<double>>(key); });
  attempt([&] { (void)view.get<std::vector<std::vector<int>>>(key); });
  attempt([&] { (void)view.get_enum(key, {"adamw", "prodigy", "none"}, "none"); });
  attempt([&] { (void)view.get_device(key, "cpu"); });
  attempt([&] { (void)view.location(); });
  attempt([&] { walk(view.child(key), depth + 1); });
  attempt([&] {
    for (const ConfigView& item : view.items(key)) walk(item, depth + 1);
  });
}

}  // namespace

void config_yaml(const std::uint8_t* data, std::size_t size) {
  const std::vector<std::string_view> parts = split_parts(data, size);
  try {
    ConfigDocument document = ConfigDocument::from_string(parts[0], "fuzz.yaml");
    document.set_strict_devices(false);
    document.collect_problems(size % 2 == 0);  // both modes, chosen by the input
    if (parts.size() > 1) {
      std::string_view overrides = parts[1];
      while (!overrides.empty()) {
        const std::size_t end = overrides.find('\n');
        const std::string_view line = overrides.substr(0, end);
        if (!line.empty()) document.apply_override(line);
        if (end == std::string_view::npos) break;
        overrides.remove_prefix(end + 1);
      }
    }
    document.resolve_references();
    walk(document.root(), 0);
    (void)document.read_keys();
    attempt([&] { document.check_unknown_keys(); });

    // A config is stored in each checkpoint as YAML and read back on resume: what the
    // document writes must parse again.
    const std::string text = document.to_yaml();
    try {
      (void)ConfigDocument::from_string(text, "fuzz-copy.yaml");
    } catch (const omni::Error& error) {
      require(false, std::string("the document's own YAML does not parse again: ") + error.what());
    }
  } catch (const omni::Error&) {
  }
}

}  // namespace omni::fuzz
