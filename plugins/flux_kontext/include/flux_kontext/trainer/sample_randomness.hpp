#pragma once
// Every random draw of training comes from a generator seeded by (run seed, epoch, sample
// index, purpose): a sample's noise, timestep and caption dropout do not depend on which
// batch it lands in, on the batch size, on where a run was resumed or (later) on which
// data-parallel rank processes it.
#include <cstdint>
#include <vector>

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>


namespace flux_kontext {

enum class DrawPurpose : std::uint64_t { shuffle = 1, noise, timestep, caption_dropout, image_dropout, validation };

// A well-mixed 64-bit seed for one draw (splitmix64 over the fields).
std::uint64_t draw_seed(std::uint64_t run_seed, std::uint64_t epoch,
                                         std::uint64_t sample, DrawPurpose purpose);

// A CPU generator seeded with draw_seed(...).
at::Generator draw_generator(std::uint64_t run_seed, std::uint64_t epoch,
                                              std::uint64_t sample, DrawPurpose purpose);

// A uniform number in [0, 1) for the draw, computed without LibTorch (portable, exact).
double draw_uniform(std::uint64_t run_seed, std::uint64_t epoch,
                                     std::uint64_t sample, DrawPurpose purpose);

// The epoch's visiting order of `count` items: a Fisher-Yates shuffle driven by draw_seed.
std::vector<std::int64_t> epoch_order(std::uint64_t run_seed, std::uint64_t epoch,
                                                       std::int64_t count, bool shuffle);

}  // namespace flux_kontext
