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

// `micro_batch` seeds LibTorch's global generators before each micro-batch (indexed by its
// position in the epoch instead of a sample): whatever draws from them inside the model (LoRA
// dropout) then depends only on the training position, which checkpoints hold.
enum class DrawPurpose : std::uint64_t {
  shuffle = 1, noise, timestep, caption_dropout, image_dropout, validation, micro_batch
};

// A well-mixed 64-bit seed for one draw (splitmix64 over the fields).
std::uint64_t draw_seed(std::uint64_t run_seed, std::uint64_t epoch, std::uint64_t sample,
                        DrawPurpose purpose);

// A CPU generator seeded with draw_seed(...).
at::Generator draw_generator(std::uint64_t run_seed, std::uint64_t epoch, std::uint64_t sample,
                             DrawPurpose purpose);

// A uniform number in [0, 1) for the draw, computed without LibTorch (portable, exact).
double draw_uniform(std::uint64_t run_seed, std::uint64_t epoch, std::uint64_t sample,
                    DrawPurpose purpose);

// The epoch's visiting order of `count` items: a Fisher-Yates shuffle driven by draw_seed.
std::vector<std::int64_t> epoch_order(std::uint64_t run_seed, std::uint64_t epoch,
                                      std::int64_t count, bool shuffle);

}  // namespace flux_kontext
