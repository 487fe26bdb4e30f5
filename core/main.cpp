// omnihost: the plugin host. `omnihost run config.yaml` runs a job; see --help.
#include <csignal>
#include <iostream>
#include <string>
#include <vector>

#include <c10/util/Exception.h>
#include <fmt/format.h>

#include "command_line.hpp"
#include "commands.hpp"
#include "omni/error.hpp"
#include "omni/malloc_tuning.hpp"
#include "plugin_command.hpp"

namespace {

constexpr const char* usage_text =
    "usage: omnihost <command> [options]\n"
    "\n"
    "commands:\n"
    "  run CONFIG        run a job: cache, fit and predict stages (--mode picks one)\n"
    "  predict CONFIG    edit one image: --image a.png --prompt \"...\" --out out.png\n"
    "  validate CONFIG   check a config against the host's and the plugins' schemas\n"
    "  plugins           list plugin files found, what each registered, why any was rejected\n"
    "  debug tokenize    encode text with a registered tokenizer, or compare it with reference\n"
    "                    encodings (--cases FILE)\n"
    "  <plugin command>  commands that plugins add (listed by `omnihost plugins`)\n"
    "\n"
    "`omnihost <command> --help` describes a command's options.\n";

int dispatch(const std::vector<std::string>& words) {
  if (words.empty() || words[0] == "--help" || words[0] == "-h" || words[0] == "help") {
    std::cout << usage_text;
    return words.empty() ? omni::host::exit_usage : 0;
  }
  if (words[0] == "--version") {
    std::cout << "omnihost " << OMNI_VERSION << "\n";
    return 0;
  }
  const std::vector<std::string> rest(words.begin() + 1, words.end());
  if (words[0] == "run") return omni::host::run_command(rest);
  if (words[0] == "validate") return omni::host::validate_command(rest);
  if (words[0] == "predict") return omni::host::predict_command(rest);
  if (words[0] == "plugins") return omni::host::plugins_command(rest);
  if (words.size() >= 2 && words[0] == "debug" && words[1] == "tokenize") {
    return omni::host::tokenize_command({words.begin() + 2, words.end()});
  }
  return omni::host::plugin_command(words);
}

}  // namespace

int main(int argc, char** argv) {
  omni::tune_malloc_for_tensors();  // before the first tensor: freed activations get reused
  // Past `ulimit -f` a write fails with EFBIG instead of killing the process, so that the
  // writer reports the file and the room it needs and the previous checkpoint stays the latest.
  std::signal(SIGXFSZ, SIG_IGN);
  std::vector<std::string> words(argv + 1, argv + argc);
  try {
    return dispatch(words);
  } catch (const omni::host::UsageError& error) {
    std::cerr << "omnihost: " << error.what() << "\n(see `omnihost --help`)\n";
    return omni::host::exit_usage;
  } catch (const omni::ConfigError& error) {
    std::cerr << error.what() << "\n";
    return omni::host::exit_usage;
  } catch (const omni::Error& error) {
    std::cerr << "omnihost: error: " << error.what() << "\n";
    return omni::host::exit_failure;
  } catch (const c10::Error& error) {
    // LibTorch errors carry a C++ backtrace in what(); users get the message only.
    std::cerr << "omnihost: error: " << error.what_without_backtrace() << "\n";
    return omni::host::exit_failure;
  } catch (const std::bad_alloc&) {
    std::cerr << "omnihost: error: out of memory\n";
    return omni::host::exit_failure;
  } catch (const std::exception& error) {
    // Some LibTorch checks throw plain std::runtime_error; keep the message, drop any trace.
    std::string message = error.what();
    message = message.substr(0, message.find("\nException raised from"));
    std::cerr << "omnihost: error: " << message << "\n";
    return omni::host::exit_failure;
  }
}
