#!/usr/bin/python3
"""Write the fixtures for format detection, sharded checkpoints and GGUF
edge cases (tests/test_sniff.c, tests/test_gguf.c, tests/test_kinds.sh).

  kinds/   files that are not what a checkpoint reader expects: a text file
           named .npy, a real .npz written by numpy, a big-endian GGUF, an
           unrecognised binary, GGUF files with unknown tensor types and a
           1000-byte metadata string, names with terminal control characters.
  shard/   a checkpoint split in two shards with its index, the same
           tensors unsplit (whole.safetensors), and broken indexes.

Values: tensor "t<k>" of the sharded set holds k*10 + i*0.5 (i = flat index).
Run: python3 tests/data/make_kinds.py
"""
import json
import os
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
KINDS = os.path.join(HERE, "kinds")
SHARD = os.path.join(HERE, "shard")
os.makedirs(KINDS, exist_ok=True)
os.makedirs(SHARD, exist_ok=True)


def write(path, data):
    with open(path, "wb") as fh:
        fh.write(data)


def st_bytes(tensors, metadata=None):
    """tensors: list of (name, shape, float32 array). Safetensors image."""
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, shape, a in tensors:
        b = np.asarray(a, "<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [len(data), len(data) + len(b)]}
        data += b
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


def gstr(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def gguf(kvs, tensors, align=32):
    """kvs: (key, string value); tensors: (name, ne list, ggml type, data bytes)."""
    out = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs))
    for k, v in kvs:
        out += gstr(k) + struct.pack("<I", 8) + gstr(v)
    off, body = 0, b""
    for name, ne, ty, data in tensors:
        out += gstr(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", d) for d in ne)
        out += struct.pack("<IQ", ty, off)
        body += data + b"\0" * (-len(data) % align)
        off = len(body)
    out += b"\0" * (-len(out) % align)
    return out + body


def tensors():
    shapes = [[2, 3], [4], [3, 2], [5]]
    out = []
    for k, shp in enumerate(shapes):
        n = int(np.prod(shp))
        out.append((f"t{k}", shp, k * 10 + np.arange(n) * 0.5))
    return out


def sharded():
    t = tensors()
    write(os.path.join(SHARD, "whole.safetensors"), st_bytes(t, {"format": "pt"}))
    names = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    write(os.path.join(SHARD, names[0]), st_bytes(t[:2], {"format": "pt"}))
    write(os.path.join(SHARD, names[1]), st_bytes(t[2:], {"format": "pt"}))
    wm = {name: names[0 if k < 2 else 1] for k, (name, _, _) in enumerate(t)}
    idx = {"metadata": {"total_size": sum(4 * a.size for _, _, a in t)}, "weight_map": dict(sorted(wm.items()))}
    write(os.path.join(SHARD, "model.safetensors.index.json"), json.dumps(idx, indent=2).encode() + b"\n")
    bad = dict(idx, weight_map=dict(wm, t3="model-00003-of-00003.safetensors"))
    write(os.path.join(SHARD, "bad_missing_shard.index.json"), json.dumps(bad).encode())
    bad = dict(idx, weight_map=dict(wm, zz=names[1]))
    write(os.path.join(SHARD, "bad_missing_tensor.index.json"), json.dumps(bad).encode())
    write(os.path.join(SHARD, "bad_no_map.index.json"), b'{"metadata": {}}\n')


def kinds():
    write(os.path.join(KINDS, "text.npy"), b"this is a note, not an array\n")
    np.savez(os.path.join(KINDS, "arrays.npz"), a=np.arange(4, dtype="<f4"), b=np.ones((2, 2), "<f4"))
    write(os.path.join(KINDS, "unknown.bin"), bytes(range(7, 71)))
    write(os.path.join(KINDS, "big_endian.gguf"), b"GGUF" + struct.pack(">IQQ", 3, 0, 0))
    f = lambda *v: np.array(v, "<f4").tobytes()
    # MXFP4 (ggml type 39: 32 values in 17 bytes) and an unknown type 99 between loadable tensors
    write(os.path.join(KINDS, "unknown_types.gguf"),
          gguf([("general.architecture", "test")],
               [("a", [2], 0, f(1, 2)), ("mx", [64, 2], 39, bytes(68)), ("odd", [8, 2], 99, bytes(24)),
                ("b", [3], 0, f(3, 4, 5))]))
    long = "".join(chr(ord("a") + i % 26) for i in range(1000))
    write(os.path.join(KINDS, "long_meta.gguf"),
          gguf([("tokenizer.chat_template", long), ("ctl", "x\x1b[31my\nz")],
               [("ctl\x1b[2Jname", [1], 0, f(7))]))
    write(os.path.join(KINDS, "ctl_name.safetensors"), st_bytes([("w\x1b]0;pwned\x07", [2], [1.0, 2.0])]))


sharded()
kinds()
