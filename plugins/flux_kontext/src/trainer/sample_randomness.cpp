#include "flux_kontext/trainer/sample_randomness.hpp"

#include <numeric>

#include <ATen/CPUGeneratorImpl.h>

namespace flux_kontext {
namespace {

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

std::uint64_t draw_seed(std::uint64_t run_seed, std::uint64_t epoch, std::uint64_t sample,
                        DrawPurpose purpose) {
  std::uint64_t h = splitmix64(run_seed);
  h = splitmix64(h ^ epoch);
  h = splitmix64(h ^ sample);
  return splitmix64(h ^ static_cast<std::uint64_t>(purpose));
}

at::Generator draw_generator(std::uint64_t run_seed, std::uint64_t epoch, std::uint64_t sample,
                             DrawPurpose purpose) {
  return at::make_generator<at::CPUGeneratorImpl>(draw_seed(run_seed, epoch, sample, purpose));
}

double draw_uniform(std::uint64_t run_seed, std::uint64_t epoch, std::uint64_t sample,
                    DrawPurpose purpose) {
  // The top 53 bits as a double in [0, 1).
  return static_cast<double>(draw_seed(run_seed, epoch, sample, purpose) >> 11) * 0x1.0p-53;
}

std::vector<std::int64_t> epoch_order(std::uint64_t run_seed, std::uint64_t epoch,
                                      std::int64_t count, bool shuffle) {
  std::vector<std::int64_t> order(static_cast<std::size_t>(count));
  std::iota(order.begin(), order.end(), 0);
  if (!shuffle) return order;
  std::uint64_t state = draw_seed(run_seed, epoch, 0, DrawPurpose::shuffle);
  for (std::int64_t i = count - 1; i > 0; --i) {
    state = splitmix64(state);
    const auto j = static_cast<std::int64_t>(state % static_cast<std::uint64_t>(i + 1));
    std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(j)]);
  }
  return order;
}

}  // namespace flux_kontext
