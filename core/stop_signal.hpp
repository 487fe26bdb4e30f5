#pragma once
#include <atomic>

namespace omni::host {

// Installs SIGINT/SIGTERM handlers that set the returned flag; a second signal while the
// first is being handled (a checkpoint being written) restores the default and re-raises,
// so an impatient user can still kill the process.
const std::atomic<bool>& install_stop_signal_handlers();

}  // namespace omni::host
