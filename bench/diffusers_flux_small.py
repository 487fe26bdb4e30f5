#!/usr/bin/env python3
"""The upstream side of bench_flux_transformer's `small` preset: diffusers'
FluxTransformer2DModel with PEFT LoRA adapters (r=16 on attn.to_q/to_k/to_v/to_out.0, base
frozen), same shape, same inputs' sizes, same measurement (one warm-up call, then the mean of
--iters calls; the matmul peak of a 2048^3 product in the same dtype and threads).

  python bench/diffusers_flux_small.py --threads 2 --dtype fp32 [--iters 3]
      [--flops-forward F --flops-train F]   (bench_flux_transformer's FLOP counts, for shares)

scripts/bench-vs-diffusers.sh runs it beside bench_flux_transformer on the same torch.
"""
import argparse
import time

import diffusers
import peft
import torch
from diffusers import FluxTransformer2DModel
from peft import LoraConfig, inject_adapter_in_model


def seconds_per_call(iterations, body):
    body()  # warm-up: allocator, kernels, thread pool
    start = time.perf_counter()
    for _ in range(iterations):
        body()
    return (time.perf_counter() - start) / iterations


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dtype", choices=["fp32", "bf16"], default="fp32")
    parser.add_argument("--iters", type=int, default=3)
    parser.add_argument("--flops-forward", type=float, default=0)
    parser.add_argument("--flops-train", type=float, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[args.dtype]
    torch.manual_seed(0)

    n = 2048
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    peak = 2.0 * n ** 3 / seconds_per_call(3, lambda: a @ b)

    model = FluxTransformer2DModel(
        patch_size=1, in_channels=64, num_layers=4, num_single_layers=8, attention_head_dim=128,
        num_attention_heads=8, joint_attention_dim=4096, pooled_projection_dim=768,
        guidance_embeds=True, axes_dims_rope=(16, 56, 56)).to(dtype)
    image_tokens, text_tokens = 2048, 128
    side = int(image_tokens ** 0.5)
    rows, cols = side, (image_tokens + side - 1) // side
    ids = torch.zeros(rows * cols, 3)
    ids[:, 1] = torch.arange(rows * cols) // cols
    ids[:, 2] = torch.arange(rows * cols) % cols
    inputs = dict(
        hidden_states=torch.randn(1, image_tokens, 64),
        encoder_hidden_states=torch.randn(1, text_tokens, 4096),
        pooled_projections=torch.randn(1, 768), timestep=torch.full((1,), 0.5),
        guidance=torch.full((1,), 0.0035), img_ids=ids[:image_tokens],
        txt_ids=torch.zeros(text_tokens, 3), return_dict=False)
    inputs = {k: v.to(dtype) if torch.is_tensor(v) and k not in ("img_ids", "txt_ids") else v
              for k, v in inputs.items()}
    tokens = image_tokens + text_tokens

    model.eval()
    with torch.no_grad():
        forward = seconds_per_call(args.iters, lambda: model(**inputs))

    for p in model.parameters():
        p.requires_grad_(False)
    inject_adapter_in_model(LoraConfig(r=16, lora_alpha=16, init_lora_weights="gaussian",
                                       target_modules=["to_q", "to_k", "to_v", "to_out.0"]),
                            model)
    model.to(dtype)
    model.train()

    def step():
        output = model(**inputs)[0]
        output.float().pow(2).mean().backward()

    train = seconds_per_call(args.iters, step)

    def share(flops, t):
        return f"  {100 * flops / t / peak:5.1f} % of peak" if flops else ""

    print(f"diffusers {diffusers.__version__}, peft {peft.__version__}, torch {torch.__version__}, "
          f"{args.dtype}, {torch.get_num_threads()} threads")
    print(f"matmul peak ({args.dtype}): {peak / 1e9:.1f} GFLOP/s")
    print(f"forward:          {forward:8.3f} s  {tokens / forward:9.0f} tokens/s"
          f"{share(args.flops_forward, forward)}")
    print(f"forward+backward: {train:8.3f} s  {tokens / train:9.0f} tokens/s"
          f"{share(args.flops_train, train)}")


if __name__ == "__main__":
    main()
