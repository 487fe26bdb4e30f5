#pragma once
// What a writer killed mid-write leaves behind: the atomic writers put a file together as
// `<name>.tmp-<pid>` and a folder as `.<name>.partial-<pid>`, then rename it into place. After
// a SIGKILL or a power cut those stay; the next run removes them before it writes again.
#include <cstddef>
#include <filesystem>

#include "omni/export.hpp"

namespace omni {

// Removes, under `folder` (recursively), every `*.tmp-<pid>` file and `.*.partial-<pid>`
// folder whose process no longer runs (a live writer's are left alone). Returns how many
// it removed; a missing folder is not an error.
OMNI_API std::size_t remove_interrupted_writes(const std::filesystem::path& folder);

}  // namespace omni
