#include "stop_signal.hpp"

#include <csignal>

namespace omni::host {
namespace {

std::atomic<bool> stop_requested{false};

extern "C" void on_stop_signal(int signal_number) {
  if (stop_requested.exchange(true)) {
    std::signal(signal_number, SIG_DFL);
    std::raise(signal_number);
  }
}

}  // namespace

const std::atomic<bool>& install_stop_signal_handlers() {
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  return stop_requested;
}

}  // namespace omni::host
