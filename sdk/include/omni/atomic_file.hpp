#pragma once
// Replacing a file so that readers (and a crash) see the old file or the new one, never a
// partial one: write `<file>.tmp-<pid>` in the same folder, fsync, rename over `file`.
#include <cstddef>
#include <filesystem>
#include <string_view>

#include "omni/export.hpp"

namespace omni {

// `what` names the kind of file in errors: "cannot save <what> '<file>': ...". On failure
// the temporary file is removed and `file` is left as it was.
OMNI_API void write_file_atomically(const std::filesystem::path& file, const void* data,
                           std::size_t size, std::string_view what);

}  // namespace omni
