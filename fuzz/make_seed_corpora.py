#!/usr/bin/env python3
"""Writes the hand-made seed inputs of the fuzz targets into fuzz/corpus/<target>/seed-*.

Run once when a target is added (the seeds are committed; the fuzzer grows the corpus from
them): python3 fuzz/make_seed_corpora.py. Needs Pillow (the CI virtual environment has it) for
the PNG and JPEG variants. Multi-file inputs join the files with fuzz_targets.hpp's separator.
"""
import io
import json
import pathlib

from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"
SEPARATOR = b"\n----8<----\n"


def write(target, name, data):
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"seed-{name}").write_bytes(data if isinstance(data, bytes) else data.encode())


def joined(*parts):
    return SEPARATOR.join(p if isinstance(p, bytes) else p.encode() for p in parts)


def byte_level_characters():
    """GPT-2's byte-to-character table, as byte-level BPE vocabularies spell bytes."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    chars, extra = {}, 0
    for b in range(256):
        if b in printable:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + extra)
            extra += 1
    return chars


def config_seeds():
    for path in sorted((ROOT / "configs").glob("*.yaml")):
        write("config_yaml", path.stem, path.read_bytes())
    write("config_yaml", "overrides", joined(
        "train:\n  max_train_steps: 10\n  lr: 1e-4\nmodel:\n  lora: {rank: 4}\n"
        "name: ${train.max_train_steps}\nlist: [1, 2, [3, 4]]\n",
        "train.max_train_steps=20\nmodel.lora.alpha=8\nnew.section.key=[1, 2]\nname=${model.lora.rank}"))
    write("config_yaml", "anchors", "base: &b {a: 1, b: [x, y]}\nother: *b\nmerged:\n  <<: *b\n  c: 2\n")


def image_seeds():
    def png(image, **options):
        out = io.BytesIO()
        image.save(out, format="PNG", **options)
        return out.getvalue()

    def jpeg(image, **options):
        out = io.BytesIO()
        image.save(out, format="JPEG", **options)
        return out.getvalue()

    rgb = Image.new("RGB", (5, 3))
    for x in range(5):
        for y in range(3):
            rgb.putpixel((x, y), (x * 50, y * 80, (x + y) * 30))
    write("image_file", "rgb.png", png(rgb))
    write("image_file", "rgba.png", png(rgb.convert("RGBA")))
    write("image_file", "gray.png", png(rgb.convert("L")))
    write("image_file", "gray-alpha.png", png(rgb.convert("LA")))
    write("image_file", "palette.png", png(rgb.convert("P")))
    write("image_file", "palette-trns.png", png(rgb.convert("P"), transparency=0))
    write("image_file", "gray16.png", png(rgb.convert("I;16")))
    write("image_file", "one-bit.png", png(rgb.convert("1")))
    write("image_file", "rgb.jpg", jpeg(rgb, quality=90))
    write("image_file", "gray.jpg", jpeg(rgb.convert("L")))
    write("image_file", "progressive.jpg", jpeg(rgb, progressive=True))
    write("image_file", "subsampled.jpg", jpeg(rgb.resize((17, 9)), subsampling=2))
    write("image_file", "cmyk.jpg", jpeg(rgb.convert("CMYK")))


def clip_seeds():
    chars = byte_level_characters()
    vocab = {}
    for b in range(256):
        vocab[chars[b]] = len(vocab)
    for b in range(256):
        vocab[chars[b] + "</w>"] = len(vocab)
    merges = ["a t</w>", "c at</w>", "p h", "ph o", "pho t", "phot o</w>", "o f</w>"]
    for merge in merges:
        first, second = merge.split(" ")
        vocab[first + second] = len(vocab)
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    vocab_json = json.dumps(vocab, ensure_ascii=False)
    merges_txt = "#version: 0.2\n" + "\n".join(merges) + "\n"
    config = json.dumps({"model_max_length": 77, "do_lower_case": True,
                         "clean_up_tokenization_spaces": True,
                         "added_tokens_decoder": {str(vocab["<|endoftext|>"]): {
                             "content": "<|endoftext|>", "special": True}}})
    specials = json.dumps({"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>",
                           "unk_token": {"content": "<|endoftext|>"}, "pad_token": "!",
                           "additional_special_tokens": ["<|endoftext|>"]})
    write("clip_tokenizer_files", "minimal", joined(vocab_json, merges_txt))
    write("clip_tokenizer_files", "full", joined(vocab_json, merges_txt, config, specials,
                                                  "A photo of a cat. It's <|endoftext|> 12 cats!"))


def qwen_seeds():
    chars = byte_level_characters()
    vocab = {chars[b]: b for b in range(256)}
    merges = ["Ġ t", "h e", "Ġt he", "i n", "Ġ c", "a t", "Ġc at"]
    for merge in merges:
        first, second = merge.split(" ")
        vocab[first + second] = len(vocab)
    tokenizer = {
        "version": "1.0",
        "added_tokens": [
            {"id": len(vocab), "content": "<|endoftext|>", "special": True},
            {"id": len(vocab) + 1, "content": "<|im_start|>", "special": True},
            {"id": len(vocab) + 2, "content": "<|im_end|>", "special": True},
        ],
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
             "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}]},
        "decoder": {"type": "ByteLevel"},
        "model": {"type": "BPE", "vocab": vocab, "merges": merges},
    }
    write("qwen_tokenizer_json", "tiny", joined(json.dumps(tokenizer, ensure_ascii=False),
                                                 "<|im_start|>user\nThe cat in the hat 12 €<|im_end|>"))


def model_config_seeds():
    fixtures = ROOT / "tests" / "fixtures"
    for name, path in [("flux", "flux/tiny-flux-kontext/transformer/config.json"),
                       ("vae", "flux/tiny-flux-kontext/vae/config.json"),
                       ("clip", "text/clip_eos/config.json"),
                       ("t5", "text/t5_tiny/config.json"),
                       ("qwen", "vlm/qwen2_5_vl_tiny/config.json")]:
        write("model_config_json", name, (fixtures / path).read_bytes())


def manifest_seeds():
    write("dataset_manifest", "csv", "path_target,path_control,prompt\na.png,b.jpg,a cat\n"
          "sub/c.png,a.png,\"two, words\"\n")
    write("dataset_manifest", "csv-controls", "target,control,control_1,mask,prompt\n"
          "a.png,b.jpg,sub/c.png,a.png,x\n")
    write("dataset_manifest", "jsonl", '{"target": "a.png", "control": ["b.jpg", "sub/c.png"], '
          '"prompt": "p"}\n{"path_target": "sub/c.png", "path_control": "a.png", "prompt": "q",'
          ' "path_mask": "b.jpg"}\n')
    write("dataset_manifest", "escapes", "target,control,prompt\n../outside/secret.png,a.png,x\n"
          "link.png,a.png,y\nlinkdir/secret.png,a.png,z\nsub/../../outside/secret.png,a.png,w\n")


if __name__ == "__main__":
    # Only the seeds are rewritten; what the fuzzer found stays.
    for old_seed in CORPUS.glob("*/seed-*"):
        old_seed.unlink()
    config_seeds()
    image_seeds()
    clip_seeds()
    qwen_seeds()
    model_config_seeds()
    manifest_seeds()
