#pragma once
// The tiny training setup shared by the trainer's end-to-end suites: a tiny Kontext pipeline,
// a small data set of random images and a config that trains for a few steps.
#include <filesystem>
#include <string>
#include <vector>

#include "omni/safetensors.hpp"
#include "test_support.hpp"

namespace flux_test {

// A seeded random RGB image of `size` x `size`.
void write_random_png(const std::filesystem::path& file, int size, int seed);

// A tiny pipeline, a `samples`-sample dataset (32 px, one control each) and a config training
// 6 steps with checkpoints at 3 and 6, caption dropout 0.3; `extra` is appended to the config.
struct TrainingSetup {
  omni::test::TempDir dir;
  std::filesystem::path config;

  explicit TrainingSetup(const std::string& extra = "", int samples = 2);
  std::filesystem::path output() const;
  // The single run folder under output/.
  std::filesystem::path run_folder() const;
};

// Every tensor of a safetensors file, in file order.
omni::NamedTensors read_all(const std::filesystem::path& file);
// Same names, same order, bit-identical values.
bool identical(const omni::NamedTensors& a, const omni::NamedTensors& b);
// The `loss` of every line of a metrics.jsonl.
std::vector<double> losses(const std::filesystem::path& metrics);

}  // namespace flux_test
