#include "omni/training/training_log.hpp"

#include <algorithm>
#include <cstdio>

#include <fmt/format.h>

#include "omni/image_io.hpp"

namespace omni {
namespace {

constexpr double kSmoothing = 0.9;  // weight of the history in the smoothed loss

std::string clock_text(double seconds) {
  const auto s = static_cast<long>(seconds);
  return fmt::format("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60);
}

}  // namespace

TrainingLog::TrainingLog(const std::filesystem::path& run_dir, bool tensorboard,
                         std::int64_t total_steps, const TrainingPosition& start)
    // A resumed run redoes the steps after its checkpoint: their old lines go.
    : metrics_(run_dir / "metrics.jsonl", start.step),
      total_steps_(total_steps),
      start_step_(start.step),
      smoothed_(start.smoothed_loss),
      started_(std::chrono::steady_clock::now()) {
  if (tensorboard) tensorboard_ = std::make_unique<TensorBoardWriter>(run_dir / "tensorboard");
}

void TrainingLog::step(const TrainingPosition& position, double loss, double lr, double grad_norm) {
  smoothed_ = position.step == 1 ? loss : kSmoothing * smoothed_ + (1 - kSmoothing) * loss;
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  const double rate = static_cast<double>(position.step - start_step_) / std::max(elapsed, 1e-9);
  const double eta = static_cast<double>(total_steps_ - position.step) / std::max(rate, 1e-9);
  fmt::print("step {}/{}  loss {:.4f} (smoothed {:.4f})  lr {:.2e}  {:.2f} it/s  ETA {}\n",
             position.step, total_steps_, loss, smoothed_, lr, rate, clock_text(eta));
  std::fflush(stdout);
  metrics_.log(position.step, {{"loss", loss}, {"loss_smoothed", smoothed_}, {"lr", lr},
                               {"grad_norm", grad_norm}, {"epoch", static_cast<double>(position.epoch)}});
  if (tensorboard_) {
    tensorboard_->add_scalar("train/loss", loss, position.step);
    tensorboard_->add_scalar("train/loss_smoothed", smoothed_, position.step);
    tensorboard_->add_scalar("train/lr", lr, position.step);
    tensorboard_->add_scalar("train/grad_norm", grad_norm, position.step);
  }
}

void TrainingLog::validation(std::int64_t step, std::optional<double> loss, const Image& grid) {
  if (loss) metrics_.log(step, {{"val_loss", *loss}});
  if (!tensorboard_) return;
  if (loss) tensorboard_->add_scalar("validation/loss", *loss, step);
  const std::vector<std::uint8_t> png = encode_png(grid);
  tensorboard_->add_image("validation/grid",
                          std::string_view(reinterpret_cast<const char*>(png.data()), png.size()),
                          grid.height, grid.width, grid.channels, step);
}

}  // namespace omni
