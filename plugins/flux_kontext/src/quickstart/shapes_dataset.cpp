#include "flux_kontext/quickstart/shapes_dataset.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <unistd.h>

#include "omni/error.hpp"
#include "omni/image.hpp"
#include "omni/image_io.hpp"

namespace flux_kontext {
namespace {

namespace fs = std::filesystem;

struct Colour {
  const char* name;
  std::uint8_t r, g, b;
};

// Saturated colours for shapes, clearly apart from each other and from the pale scenes.
constexpr std::array<Colour, 6> kShapeColours{{{"red", 220, 30, 30},
                                               {"green", 30, 170, 50},
                                               {"blue", 30, 60, 220},
                                               {"yellow", 240, 200, 20},
                                               {"purple", 140, 40, 180},
                                               {"orange", 245, 120, 20}}};
constexpr std::array<const char*, 4> kShapes{"circle", "square", "triangle", "diamond"};
constexpr std::array<const char*, 4> kCorners{"top-left", "top-right", "bottom-left",
                                              "bottom-right"};

// Whether pixel centre (x, y), relative to a box of side `size` at its top-left corner, lies
// inside `shape` drawn to fill that box.
bool inside(const std::string& shape, double x, double y, double size) {
  const double half = size / 2;
  const double dx = x - half, dy = y - half;
  if (shape == "circle") return dx * dx + dy * dy <= half * half;
  if (shape == "square") return x >= 0 && y >= 0 && x < size && y < size;
  if (shape == "diamond") return std::abs(dx) + std::abs(dy) <= half;
  // An upward triangle: the apex at the top centre, the base along the bottom.
  return y >= 0 && y <= size && std::abs(dx) <= half * y / size;
}

void fill(omni::Image& image, const Colour& colour) {
  for (std::size_t i = 0; i < image.pixels.size(); i += 3) {
    image.pixels[i] = colour.r;
    image.pixels[i + 1] = colour.g;
    image.pixels[i + 2] = colour.b;
  }
}

// Draws `shape` filling the box of side `size` whose top-left corner is (left, top).
void draw(omni::Image& image, const std::string& shape, const Colour& colour, int left, int top,
          int size) {
  for (int y = std::max(0, top); y < std::min(image.height, top + size); ++y) {
    for (int x = std::max(0, left); x < std::min(image.width, left + size); ++x) {
      if (!inside(shape, x - left + 0.5, y - top + 0.5, size)) continue;
      std::uint8_t* pixel = &image.pixels[(static_cast<std::size_t>(y) * image.width + x) * 3];
      pixel[0] = colour.r;
      pixel[1] = colour.g;
      pixel[2] = colour.b;
    }
  }
}

omni::Image blank(int size) {
  omni::Image image;
  image.width = image.height = size;
  image.channels = 3;
  image.pixels.assign(static_cast<std::size_t>(size) * size * 3, 255);
  return image;
}

void write_text(const fs::path& file, const std::string& text) {
  std::ofstream out(file);
  out << text << "\n";
  if (!out.flush()) throw omni::Error(fmt::format("cannot write '{}'", file.string()));
}

struct Placement {
  std::string shape;
  Colour colour;
  std::size_t corner;
};

std::string instruction(const std::vector<Placement>& placements) {
  std::string text = "place ";
  for (std::size_t i = 0; i < placements.size(); ++i) {
    if (i > 0) text += i + 1 == placements.size() ? " and " : ", ";
    text += fmt::format("the {} {} from image {} in the {} corner", placements[i].colour.name,
                        placements[i].shape, i + 2, kCorners[placements[i].corner]);
  }
  return text + " of image 1";
}

void write_sample(const fs::path& root, int index, const ShapesDatasetOptions& options,
                  std::mt19937_64& random) {
  auto uniform = [&](int low, int high) { return std::uniform_int_distribution<int>(low, high)(random); };
  const int size = options.image_size;

  // The scene: a pale background and a small grey square away from the corners.
  omni::Image scene = blank(size);
  const Colour background{"", static_cast<std::uint8_t>(uniform(170, 245)),
                          static_cast<std::uint8_t>(uniform(170, 245)),
                          static_cast<std::uint8_t>(uniform(170, 245))};
  fill(scene, background);
  const int distractor = std::max(2, size / 8);
  draw(scene, "square", {"grey", 110, 110, 110}, uniform(size / 3, 2 * size / 3 - distractor),
       uniform(size / 3, 2 * size / 3 - distractor), distractor);

  // Distinct corners, colours and shapes within one sample, so the instruction is unambiguous.
  std::vector<std::size_t> corners{0, 1, 2, 3}, colours{0, 1, 2, 3, 4, 5}, shapes{0, 1, 2, 3};
  std::shuffle(corners.begin(), corners.end(), random);
  std::shuffle(colours.begin(), colours.end(), random);
  std::shuffle(shapes.begin(), shapes.end(), random);
  std::vector<Placement> placements;
  for (int r = 0; r < options.shape_references; ++r) {
    placements.push_back({kShapes[shapes[r]], kShapeColours[colours[r]], corners[r]});
  }

  const std::string stem = fmt::format("{:04}", index);
  omni::write_png(root / "control" / (stem + ".png"), scene);
  omni::Image target = scene;
  const int placed = size * 3 / 8, margin = size / 16;
  for (std::size_t r = 0; r < placements.size(); ++r) {
    const Placement& placement = placements[r];
    omni::Image reference = blank(size);
    const int shown = size * 5 / 8;
    draw(reference, placement.shape, placement.colour, (size - shown) / 2, (size - shown) / 2, shown);
    omni::write_png(root / "control" / fmt::format("{}_control_{}.png", stem, r + 1), reference);
    const bool right = placement.corner % 2 == 1, bottom = placement.corner >= 2;
    draw(target, placement.shape, placement.colour, right ? size - margin - placed : margin,
         bottom ? size - margin - placed : margin, placed);
  }
  omni::write_png(root / "target" / (stem + ".png"), target);
  write_text(root / "target" / (stem + ".txt"), instruction(placements));
}

}  // namespace

void write_shapes_dataset(const fs::path& folder, const ShapesDatasetOptions& options) {
  if (options.samples <= 0) throw omni::Error("shapes data set: expected samples > 0");
  if (options.image_size < 32 || options.image_size % 16 != 0) {
    throw omni::Error(fmt::format("shapes data set: image size {} must be a multiple of 16, at "
                                  "least 32",
                                  options.image_size));
  }
  if (options.shape_references < 1 || options.shape_references > 2) {
    throw omni::Error(fmt::format("shapes data set: shape_references {} must be 1 or 2",
                                  options.shape_references));
  }
  std::error_code error;
  if (fs::exists(folder, error)) {
    throw omni::Error(fmt::format("shapes data set: '{}' already exists", folder.string()));
  }
  const fs::path partial = folder.parent_path() / fmt::format(".{}.partial-{}",
                                                               folder.filename().string(), getpid());
  fs::remove_all(partial, error);
  try {
    fs::create_directories(partial / "control");
    fs::create_directories(partial / "target");
    std::mt19937_64 random(options.seed);
    for (int i = 0; i < options.samples; ++i) write_sample(partial, i, options, random);
    fs::rename(partial, folder);
  } catch (...) {
    fs::remove_all(partial, error);
    throw;
  }
}

}  // namespace flux_kontext
