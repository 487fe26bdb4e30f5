#include "trainer/loss_curve_plot.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <string>

#include <fmt/format.h>

namespace flux_kontext {
namespace {

struct Rgb {
  std::uint8_t r, g, b;
};

constexpr Rgb kAxis{90, 90, 90}, kGrid{225, 225, 225}, kLoss{165, 195, 235},
    kSmoothed{20, 60, 160}, kValidation{210, 30, 30};
constexpr int kLeft = 64, kRight = 16, kTop = 16, kBottom = 32;  // margins around the plot
constexpr int kFontScale = 2;

// 3 x 5 glyphs, one row of three bits per entry, top row first.
struct Glyph {
  char c;
  std::array<std::uint8_t, 5> rows;
};
constexpr std::array<Glyph, 15> kFont{{{'0', {7, 5, 5, 5, 7}},
                                       {'1', {2, 6, 2, 2, 7}},
                                       {'2', {7, 1, 7, 4, 7}},
                                       {'3', {7, 1, 7, 1, 7}},
                                       {'4', {5, 5, 7, 1, 1}},
                                       {'5', {7, 4, 7, 1, 7}},
                                       {'6', {7, 4, 7, 5, 7}},
                                       {'7', {7, 1, 1, 1, 1}},
                                       {'8', {7, 5, 7, 5, 7}},
                                       {'9', {7, 5, 7, 1, 7}},
                                       {'.', {0, 0, 0, 0, 2}},
                                       {'-', {0, 0, 7, 0, 0}},
                                       {'+', {0, 2, 7, 2, 0}},
                                       {'e', {0, 7, 7, 4, 7}},
                                       {' ', {0, 0, 0, 0, 0}}}};

class Canvas {
 public:
  Canvas(int width, int height) {
    image_.width = width;
    image_.height = height;
    image_.channels = 3;
    image_.pixels.assign(static_cast<std::size_t>(width) * height * 3, 255);
  }

  void set(int x, int y, Rgb colour) {
    if (x < 0 || y < 0 || x >= image_.width || y >= image_.height) return;
    std::uint8_t* pixel = &image_.pixels[(static_cast<std::size_t>(y) * image_.width + x) * 3];
    pixel[0] = colour.r;
    pixel[1] = colour.g;
    pixel[2] = colour.b;
  }

  void box(int x, int y, int size, Rgb colour) {
    for (int dy = -size / 2; dy <= size / 2; ++dy) {
      for (int dx = -size / 2; dx <= size / 2; ++dx) set(x + dx, y + dy, colour);
    }
  }

  // Bresenham's line, `thickness` pixels wide.
  void line(int x0, int y0, int x1, int y1, Rgb colour, int thickness = 1) {
    const int dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0);
    const int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
    int error = dx + dy;
    while (true) {
      box(x0, y0, thickness, colour);
      if (x0 == x1 && y0 == y1) break;
      const int twice = 2 * error;
      if (twice >= dy) {
        error += dy;
        x0 += sx;
      }
      if (twice <= dx) {
        error += dx;
        y0 += sy;
      }
    }
  }

  // Text in the digit font with its top-left corner at (x, y); unknown characters are blank.
  void text(int x, int y, const std::string& text, Rgb colour) {
    for (char c : text) {
      for (const Glyph& glyph : kFont) {
        if (glyph.c != c) continue;
        for (int row = 0; row < 5; ++row) {
          for (int column = 0; column < 3; ++column) {
            if (!(glyph.rows[row] & (4 >> column))) continue;
            for (int s = 0; s < kFontScale * kFontScale; ++s) {
              set(x + column * kFontScale + s % kFontScale, y + row * kFontScale + s / kFontScale, colour);
            }
          }
        }
      }
      x += 4 * kFontScale;
    }
  }

  static int text_width(const std::string& text) { return static_cast<int>(text.size()) * 4 * kFontScale; }

  omni::Image take() { return std::move(image_); }

 private:
  omni::Image image_;
};

}  // namespace

omni::Image plot_loss_curves(const LossCurves& curves, int width, int height) {
  Canvas canvas(width, height);
  double low = INFINITY, high = -INFINITY;
  std::int64_t first = 0, last = 1;
  bool any = false;
  for (const StepSeries* series : {&curves.loss, &curves.smoothed, &curves.validation}) {
    for (const auto& [step, value] : *series) {
      if (!std::isfinite(value)) continue;
      low = std::min(low, value);
      high = std::max(high, value);
      first = any ? std::min(first, step) : step;
      last = any ? std::max(last, step) : step;
      any = true;
    }
  }
  if (!any) low = 0, high = 1;
  if (high - low < 1e-12) low -= 0.5, high += 0.5;
  const double pad = (high - low) * 0.05;
  low -= pad;
  high += pad;
  if (last <= first) last = first + 1;

  const int plot_width = width - kLeft - kRight, plot_height = height - kTop - kBottom;
  auto x_of = [&](std::int64_t step) {
    return kLeft + static_cast<int>(std::lround(static_cast<double>(step - first) / static_cast<double>(last - first) * plot_width));
  };
  auto y_of = [&](double value) {
    return kTop + static_cast<int>(std::lround((high - value) / (high - low) * plot_height));
  };

  // Four horizontal grid lines with their loss values, the axes, and the step range.
  for (int g = 0; g <= 4; ++g) {
    const double value = low + (high - low) * g / 4.0;
    const int y = y_of(value);
    canvas.line(kLeft, y, kLeft + plot_width, y, kGrid);
    const std::string label = fmt::format("{:.3g}", value);
    canvas.text(kLeft - 6 - Canvas::text_width(label), y - 5, label, kAxis);
  }
  canvas.line(kLeft, kTop, kLeft, kTop + plot_height, kAxis);
  canvas.line(kLeft, kTop + plot_height, kLeft + plot_width, kTop + plot_height, kAxis);
  const std::string first_label = std::to_string(first), last_label = std::to_string(last);
  canvas.text(kLeft, kTop + plot_height + 8, first_label, kAxis);
  canvas.text(kLeft + plot_width - Canvas::text_width(last_label), kTop + plot_height + 8, last_label, kAxis);

  auto draw_series = [&](const StepSeries& series, Rgb colour, int thickness, bool dots) {
    for (std::size_t i = 0; i < series.size(); ++i) {
      if (!std::isfinite(series[i].second)) continue;
      const int x = x_of(series[i].first), y = y_of(series[i].second);
      if (dots) canvas.box(x, y, 5, colour);
      if (i > 0 && std::isfinite(series[i - 1].second)) {
        canvas.line(x_of(series[i - 1].first), y_of(series[i - 1].second), x, y, colour, thickness);
      }
    }
  };
  draw_series(curves.loss, kLoss, 1, false);
  draw_series(curves.smoothed, kSmoothed, 2, false);
  draw_series(curves.validation, kValidation, 1, true);
  return canvas.take();
}

}  // namespace flux_kontext
