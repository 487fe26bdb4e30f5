// The dataset manifests (.csv and .jsonl), read in a dataset folder that holds a few images, a
// subfolder, and symbolic links leading out of it; next to the folder lies a file it must
// not reach. Whatever index_dataset accepts must name files inside the folder, since
// allow_paths_outside_dataset is off.
#include <string>
#include <system_error>

#include "flux_kontext/data/dataset_index.hpp"
#include "fuzz_targets.hpp"
#include "omni/error.hpp"

namespace fs = std::filesystem;

namespace omni::fuzz {
namespace {

bool inside(const fs::path& folder, const fs::path& file) {
  std::error_code error;
  const fs::path root = fs::canonical(folder, error);
  const fs::path resolved = fs::canonical(file, error);
  if (error) return false;
  const std::string prefix = root.string() + "/";
  return resolved.string().compare(0, prefix.size(), prefix) == 0;
}

void check_inside(const fs::path& folder, const fs::path& file, const std::string& what) {
  require(inside(folder, file), "a manifest reached '" + file.string() + "' (" + what +
                                    ") outside its folder");
}

}  // namespace

void dataset_manifest(const std::uint8_t* data, std::size_t size) {
  const fs::path scratch = fresh_scratch_folder();
  const fs::path folder = scratch / "data";
  fs::create_directories(folder / "sub");
  fs::create_directories(scratch / "outside");
  // The readers look at names and signatures only; a signature is enough of an image here.
  const std::string png_signature = "\x89PNG\r\n\x1a\n";
  const std::string jpeg_signature = "\xff\xd8\xff\xe0";
  write_file(folder / "a.png", png_signature);
  write_file(folder / "b.jpg", jpeg_signature);
  write_file(folder / "sub" / "c.png", png_signature);
  write_file(folder / "a.txt", "a prompt");
  write_file(scratch / "outside" / "secret.png", png_signature);
  fs::create_symlink("../outside/secret.png", folder / "link.png");
  fs::create_directory_symlink("../outside", folder / "linkdir");

  const std::string_view manifest(reinterpret_cast<const char*>(data), size);
  for (const char* name : {"manifest.csv", "manifest.jsonl"}) {
    const fs::path file = folder / name;
    write_file(file, manifest);
    for (bool require_target : {true, false}) {
      flux_kontext::DatasetIndexOptions options;
      options.require_target = require_target;
      try {
        for (const flux_kontext::DatasetSample& sample :
             flux_kontext::index_dataset({file.string()}, options)) {
          if (!sample.target.empty()) check_inside(folder, sample.target, "target");
          for (const fs::path& control : sample.controls) check_inside(folder, control, "control");
          if (sample.mask) check_inside(folder, *sample.mask, "mask");
        }
      } catch (const omni::Error&) {
      }
    }
  }
}

}  // namespace omni::fuzz
