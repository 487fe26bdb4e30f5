#include "subprocess.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>

#include "omni/error.hpp"

namespace external_command_enhancer {
namespace {

// A pipe whose ends close themselves.
struct Pipe {
  int read_end = -1, write_end = -1;
  Pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw omni::Error(fmt::format("pipe: {}", std::strerror(errno)));
    read_end = fds[0];
    write_end = fds[1];
  }
  ~Pipe() { close_both(); }
  void close_read() { close_fd(read_end); }
  void close_write() { close_fd(write_end); }
  void close_both() { close_read(); close_write(); }
  static void close_fd(int& fd) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

std::string command_text(const std::vector<std::string>& argv) {
  std::string text;
  for (const auto& word : argv) text += (text.empty() ? "" : " ") + word;
  return text;
}

}  // namespace

SubprocessResult run_subprocess(const std::vector<std::string>& argv, const std::string& input,
                                std::chrono::milliseconds timeout) {
  if (argv.empty()) throw omni::Error("external command: the command is empty");
  // The input goes through an unlinked temporary file: writing a large instruction into a
  // pipe while the child blocks on a full stdout pipe would deadlock.
  std::FILE* input_file = std::tmpfile();
  if (!input_file) throw omni::Error(fmt::format("external command: tmpfile: {}", std::strerror(errno)));
  std::fwrite(input.data(), 1, input.size(), input_file);
  std::fflush(input_file);
  std::rewind(input_file);
  Pipe out, err, exec_status;
  std::vector<char*> args;
  for (const auto& word : argv) args.push_back(const_cast<char*>(word.c_str()));
  args.push_back(nullptr);

  const pid_t child = ::fork();
  if (child < 0) {
    std::fclose(input_file);
    throw omni::Error(fmt::format("external command: fork: {}", std::strerror(errno)));
  }
  if (child == 0) {
    // Only async-signal-safe calls from here on.
    ::setpgid(0, 0);  // its own group, so a timeout kills whatever it started too
    ::dup2(::fileno(input_file), STDIN_FILENO);
    ::dup2(out.write_end, STDOUT_FILENO);
    ::dup2(err.write_end, STDERR_FILENO);
    ::execvp(args[0], args.data());
    const int code = errno;
    (void)!::write(exec_status.write_end, &code, sizeof code);
    ::_exit(127);
  }
  std::fclose(input_file);
  out.close_write();
  err.close_write();
  exec_status.close_write();
  int exec_error = 0;
  if (::read(exec_status.read_end, &exec_error, sizeof exec_error) == sizeof exec_error) {
    ::waitpid(child, nullptr, 0);
    throw omni::Error(fmt::format("external command: cannot run '{}': {}", argv[0],
                                  std::strerror(exec_error)));
  }

  SubprocessResult result;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::array<pollfd, 2> fds{pollfd{out.read_end, POLLIN, 0}, pollfd{err.read_end, POLLIN, 0}};
  std::array<std::string*, 2> sinks{&result.stdout_text, &result.stderr_text};
  int open_streams = 2;
  while (open_streams > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ::kill(-child, SIGKILL);
      ::waitpid(child, nullptr, 0);
      throw omni::Error(fmt::format("external command '{}' did not finish within {} s (the "
                                    "enhancer's timeout_seconds); it was stopped",
                                    command_text(argv), timeout.count() / 1000.0));
    }
    const int ready = ::poll(fds.data(), fds.size(), static_cast<int>(left.count()));
    if (ready < 0 && errno != EINTR) {
      ::kill(-child, SIGKILL);
      ::waitpid(child, nullptr, 0);
      throw omni::Error(fmt::format("external command: poll: {}", std::strerror(errno)));
    }
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buffer[4096];
      const ssize_t count = ::read(fds[i].fd, buffer, sizeof buffer);
      if (count > 0) {
        sinks[i]->append(buffer, static_cast<std::size_t>(count));
      } else if (count == 0 || errno != EINTR) {
        fds[i].fd = -1;
        --open_streams;
      }
    }
  }
  // Its output is closed, but it may still be running: the deadline holds for the exit too.
  int status = 0;
  while (true) {
    const pid_t done = ::waitpid(child, &status, WNOHANG);
    if (done == child || (done < 0 && errno != EINTR)) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(-child, SIGKILL);
      ::waitpid(child, &status, 0);
      throw omni::Error(fmt::format("external command '{}' did not exit within {} s (the "
                                    "enhancer's timeout_seconds); it was stopped",
                                    command_text(argv), timeout.count() / 1000.0));
    }
    ::usleep(5000);
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

}  // namespace external_command_enhancer
