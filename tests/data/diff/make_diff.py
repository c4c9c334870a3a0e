#!/usr/bin/env python3
"""Fixtures of tests/test_diff.sh (standard library only; run from any
directory, writes next to this file):

  ref.safetensors    a [4, 8] = 1.0, b [8] = 1..8, c [2, 3] = 2.0, s [2, 4], r_only [3]
  other.safetensors  a with a[2, 5] + 0.5, b equal, c = 2.25, s [4, 2], o_only [2]
  hf.safetensors     a two-layer Llama-shaped model with Hugging Face names
                     (hidden 8, 2 heads, 1 KV head, FFN 12, vocabulary 6)
  acts.safetensors   input activations for `report --activations`:
                     model.layers.0.mlp.up_proj.weight.input [3, 8],
                     model.layers.0.mlp.down_proj.input [2, 2, 12] (module-style name, 3-D),
                     model.layers.1.mlp.up_proj.input [3, 7] (does not fit: a note)
  llama.gguf         the same tensors with llama.cpp's names and Q / K rows
                     permuted as convert_hf_to_gguf.py's permute() does,
                     llama.attention.head_count = 2, head_count_kv = 1
All values are small multiples of 1/64, exact in float32.
"""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write_safetensors(path, tensors):
    """tensors: list of (name, shape, flat float list), written as F32."""
    header, blobs, off = {}, [], 0
    for name, shape, vals in tensors:
        b = struct.pack("<%df" % len(vals), *vals)
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def gguf_str(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def write_gguf(path, kvs, tensors):
    """kvs: list of (key, 'str'|'u32', value); tensors: (name, shape, vals) as F32."""
    out = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs))
    for k, t, v in kvs:
        out += gguf_str(k)
        out += struct.pack("<I", 8) + gguf_str(v) if t == "str" else struct.pack("<II", 4, v)
    data, off = b"", 0
    for name, shape, vals in tensors:
        ne = list(reversed(shape))  # ggml: ne[0] is the row length
        out += gguf_str(name) + struct.pack("<I", len(ne)) + struct.pack("<%dQ" % len(ne), *ne)
        out += struct.pack("<IQ", 0, off)
        b = struct.pack("<%df" % len(vals), *vals)
        b += b"\0" * (-len(b) % 32)
        data += b
        off += len(b)
    out += b"\0" * (-len(out) % 32)
    with open(path, "wb") as f:
        f.write(out + data)


def values(n, seed):
    return [((i * 37 + seed * 11) % 101 - 50) / 64.0 for i in range(n)]


def permute(vals, shape, n_head):
    """convert_hf_to_gguf.py: w.reshape(n_head, 2, rows // n_head // 2, cols).swapaxes(1, 2).reshape(w.shape)."""
    rows, cols = shape[0], (shape[1] if len(shape) > 1 else 1)
    half = rows // n_head // 2
    out = [0.0] * len(vals)
    for h in range(n_head):
        for j in range(half):
            for i in range(2):
                src = h * 2 * half + i * half + j      # (h, i, j) of the HF layout
                dst = h * 2 * half + j * 2 + i         # (h, j, i) after the swap
                out[dst * cols:(dst + 1) * cols] = vals[src * cols:(src + 1) * cols]
    return out


def main():
    a = [1.0] * 32
    a2 = list(a)
    a2[2 * 8 + 5] += 0.5
    write_safetensors(os.path.join(HERE, "ref.safetensors"), [
        ("a", [4, 8], a), ("b", [8], [float(i) for i in range(1, 9)]), ("c", [2, 3], [2.0] * 6),
        ("s", [2, 4], values(8, 1)), ("r_only", [3], [1.0, 2.0, 3.0])])
    write_safetensors(os.path.join(HERE, "other.safetensors"), [
        ("o_only", [2], [0.0, 1.0]), ("c", [2, 3], [2.25] * 6), ("b", [8], [float(i) for i in range(1, 9)]),
        ("a", [4, 8], a2), ("s", [4, 2], values(8, 1))])

    D, F, V, H, HKV = 8, 12, 6, 2, 1
    KV = D // H * HKV
    hf, gg, seed = [], [], 0

    def add(hname, gname, shape, perm=None):
        nonlocal seed
        seed += 1
        n = 1
        for d in shape:
            n *= d
        v = values(n, seed)
        hf.append((hname, shape, v))
        gg.append((gname, shape, permute(v, shape, perm) if perm else v))

    add("model.embed_tokens.weight", "token_embd.weight", [V, D])
    for L in range(2):
        p, g = "model.layers.%d." % L, "blk.%d." % L
        add(p + "input_layernorm.weight", g + "attn_norm.weight", [D])
        add(p + "self_attn.q_proj.weight", g + "attn_q.weight", [D, D], H)
        add(p + "self_attn.k_proj.weight", g + "attn_k.weight", [KV, D], HKV)
        add(p + "self_attn.v_proj.weight", g + "attn_v.weight", [KV, D])
        add(p + "self_attn.o_proj.weight", g + "attn_output.weight", [D, D])
        add(p + "post_attention_layernorm.weight", g + "ffn_norm.weight", [D])
        add(p + "mlp.gate_proj.weight", g + "ffn_gate.weight", [F, D])
        add(p + "mlp.up_proj.weight", g + "ffn_up.weight", [F, D])
        add(p + "mlp.down_proj.weight", g + "ffn_down.weight", [D, F])
    add("model.norm.weight", "output_norm.weight", [D])
    add("lm_head.weight", "output.weight", [V, D])
    write_safetensors(os.path.join(HERE, "hf.safetensors"), hf)
    write_safetensors(os.path.join(HERE, "acts.safetensors"), [
        ("model.layers.0.mlp.up_proj.weight.input", [3, D], values(3 * D, 40)),
        ("model.layers.0.mlp.down_proj.input", [2, 2, F], values(4 * F, 41)),
        ("model.layers.1.mlp.up_proj.input", [3, 7], values(21, 42))])
    write_gguf(os.path.join(HERE, "llama.gguf"),
               [("general.architecture", "str", "llama"), ("llama.attention.head_count", "u32", H),
                ("llama.attention.head_count_kv", "u32", HKV)], gg)


if __name__ == "__main__":
    main()
