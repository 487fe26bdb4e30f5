#include "qwen_vl/qwen_generation.hpp"

#include <algorithm>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>

#include "omni/error.hpp"
#include "qwen_vl/qwen_mrope.hpp"

namespace qwen_vl {

std::int64_t choose_token(const at::Tensor& logits, const GenerationOptions& options,
                          at::Generator* generator) {
  const at::Tensor scores = logits.to(at::kCPU, at::kFloat).flatten();
  if (!options.do_sample) return scores.argmax().item<std::int64_t>();
  at::Tensor probs = at::softmax(scores / options.temperature, -1);
  auto [sorted, order] = probs.sort(/*dim=*/-1, /*descending=*/true);
  if (options.top_p < 1.0) {
    // Keep the most likely tokens whose cumulative probability before them is below top_p
    // (the first token always stays), as transformers' TopPLogitsWarper.
    const at::Tensor before = sorted.cumsum(-1) - sorted;
    sorted = sorted.masked_fill(before.ge(options.top_p), 0.0);
  }
  const at::Tensor pick = at::multinomial(sorted, 1, /*replacement=*/false, *generator);
  return order[pick.item<std::int64_t>()].item<std::int64_t>();
}

std::vector<std::int64_t> generate(QwenVlModelImpl& model, const GenerationInput& input,
                                   const GenerationOptions& options) {
  if (!input.input_ids.defined() || input.input_ids.dim() != 2 || input.input_ids.size(0) != 1) {
    throw omni::Error("Qwen2.5-VL generation: input_ids must be [1, tokens]");
  }
  if (options.max_new_tokens <= 0) return {};
  at::NoGradGuard no_grad;
  const QwenVlConfig& config = model.config();
  const at::Tensor image_embeds = input.pixel_values.defined()
                                      ? model.image_embeds(input.pixel_values, input.image_grid_thw)
                                      : at::Tensor();
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(options.seed);
  auto stops = [&](std::int64_t id) {
    return std::find(options.stop_ids.begin(), options.stop_ids.end(), id) !=
           options.stop_ids.end();
  };

  const at::Tensor prompt = input.input_ids.to(at::kCPU, at::kLong);
  const RopeIndex rope = rope_index(prompt, input.image_grid_thw, config);
  const std::int64_t delta = rope.rope_deltas.item<std::int64_t>();
  std::vector<std::int64_t> generated;
  if (options.use_cache) {
    KvCache cache;
    at::Tensor logits = model.logits(model.embed(prompt, image_embeds), rope.position_ids, &cache,
                                     /*last_only=*/true);
    while (true) {
      const std::int64_t next = choose_token(logits[0][-1], options, &generator);
      generated.push_back(next);
      if (stops(next) || static_cast<std::int64_t>(generated.size()) >= options.max_new_tokens) {
        break;
      }
      // Token n of the whole sequence sits at n + rope_deltas on all three axes.
      const std::int64_t n = prompt.size(1) + static_cast<std::int64_t>(generated.size()) - 1;
      const at::Tensor ids = at::full({1, 1}, next, at::kLong);
      const at::Tensor positions = at::full({3, 1, 1}, n + delta, at::kLong);
      logits = model.logits(model.decoder()->embed(ids), positions, &cache, /*last_only=*/true);
    }
    return generated;
  }
  // Without a cache: the whole sequence each step, positions recomputed as upstream does.
  // Generated tokens are embedded as plain tokens: only the prompt holds image slots.
  const at::Tensor prompt_embeds = model.embed(prompt, image_embeds);
  at::Tensor sequence = prompt;
  while (true) {
    const RopeIndex positions = rope_index(sequence, input.image_grid_thw, config);
    at::Tensor embeds = prompt_embeds;
    if (sequence.size(1) > prompt.size(1)) {
      const at::Tensor tail = sequence.narrow(1, prompt.size(1), sequence.size(1) - prompt.size(1));
      embeds = at::cat({prompt_embeds, model.decoder()->embed(tail)}, 1);
    }
    const at::Tensor logits =
        model.logits(embeds, positions.position_ids, nullptr, /*last_only=*/true);
    const std::int64_t next = choose_token(logits[0][-1], options, &generator);
    generated.push_back(next);
    if (stops(next) || static_cast<std::int64_t>(generated.size()) >= options.max_new_tokens) {
      break;
    }
    sequence = at::cat({sequence, at::full({1, 1}, next, at::kLong)}, 1);
  }
  return generated;
}

}  // namespace qwen_vl
