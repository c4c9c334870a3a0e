#!/usr/bin/python3
"""Write the safetensors and GGUF fixtures and the malformed files.

The good files are built byte by byte from the published formats
(https://github.com/huggingface/safetensors "Format" section; ggml's
docs/gguf.md), not with squint. Values follow formulas that the Check tests
recompute (tests/test_safetensors.c, tests/test_gguf.c). The malformed files
go to bad/, each listed in bad/EXPECTED with the substring its error must
contain. Run: python3 tests/data/make_fixtures.py
"""
import json
import os
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
BAD = os.path.join(HERE, "bad")
os.makedirs(BAD, exist_ok=True)


# ---- safetensors -------------------------------------------------------------

def st_bytes(tensors, metadata=None, raw_header=None, pad=True):
    """tensors: list of (name, dtype, shape, bytes). Returns the file image."""
    header, data, off = {}, b"", 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, b in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(b)]}
        data += b
        off += len(b)
    h = raw_header if raw_header is not None else json.dumps(header).encode()
    if pad:
        h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


def bf16(a):
    return (np.asarray(a, dtype="<f4").view("<u4") >> 16).astype("<u2").tobytes()


def st_good():
    i = np.arange(6)
    f = i * 0.5 - 1.0
    t = [
        ("a_f32", "F32", [2, 3], f.astype("<f4").tobytes()),
        ("b_f16", "F16", [2, 3], f.astype("<f2").tobytes()),
        ("c_bf16", "BF16", [2, 3], bf16(f)),
        ("d_f64", "F64", [2, 3], f.astype("<f8").tobytes()),
        ("e_i8", "I8", [2, 3], (i - 3).astype("i1").tobytes()),
        ("f_u8", "U8", [2, 3], (i * 40).astype("u1").tobytes()),
        ("g_i16", "I16", [2, 3], ((i - 3) * 1000).astype("<i2").tobytes()),
        ("h_i32", "I32", [2, 3], ((i - 3) * 100000).astype("<i4").tobytes()),
        ("i_i64", "I64", [3], np.arange(3).astype("<i8").tobytes()),
        ("j_scalar", "F32", [], np.array([7.5], "<f4").tobytes()),
        ("k_empty", "F32", [0, 4], b""),
    ]
    with open(os.path.join(HERE, "good.safetensors"), "wb") as fh:
        fh.write(st_bytes(t, {"format": "pt", "author": "squint tests"}))


# ---- GGUF ----------------------------------------------------------------------

U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)
GF32, GF16, GQ4_0, GQ8_0, GQ4_K, GBF16 = 0, 1, 2, 8, 12, 30
FMT = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32: "<f", BOOL: "<?", U64: "<Q",
       I64: "<q", F64: "<d"}


def gstr(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def gval(t, v):
    if t == STR:
        return gstr(v)
    if t == ARR:
        et, items = v
        return struct.pack("<IQ", et, len(items)) + b"".join(gval(et, x) for x in items)
    return struct.pack(FMT[t], v)


def gguf(kvs, tensors, version=3, align=32, n_kv=None, n_t=None, raw_tail=b""):
    """kvs: (key, type, value); tensors: (name, ne list, type, data bytes, offset or None)."""
    out = b"GGUF" + struct.pack("<I", version)
    out += struct.pack("<QQ", len(tensors) if n_t is None else n_t, len(kvs) if n_kv is None else n_kv)
    for k, t, v in kvs:
        out += gstr(k) + struct.pack("<I", t) + gval(t, v)
    off, offs = 0, []
    for name, ne, ty, data, o in tensors:
        if o is None:
            o = off
        offs.append(o)
        off = max(off, o + len(data))
        off += -off % align
        out += gstr(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", d) for d in ne)
        out += struct.pack("<IQ", ty, o)
    out += b"\0" * (-len(out) % align)
    base = len(out)
    body = bytearray(off)
    for (name, ne, ty, data, o), oo in zip(tensors, offs):
        body[oo:oo + len(data)] = data
    return out + bytes(body) + raw_tail


def q8_0(nblocks):
    """Block b: d = 0.5 + 0.25 b (as f16), q[j] = (j*7 + b*13) % 255 - 127."""
    out = b""
    for b in range(nblocks):
        out += np.float16(0.5 + 0.25 * b).tobytes()
        out += bytes(((j * 7 + b * 13) % 255 - 127) & 0xFF for j in range(32))
    return out


def q4_0(nblocks):
    """Block b: d = 0.125 (b+1); byte j = ((j*5 + b*3) & 15) | (((j*11 + b) & 15) << 4)."""
    out = b""
    for b in range(nblocks):
        out += np.float16(0.125 * (b + 1)).tobytes()
        out += bytes(((j * 5 + b * 3) & 15) | (((j * 11 + b) & 15) << 4) for j in range(16))
    return out


GOOD_KV = [
    ("general.architecture", STR, "llama"), ("general.name", STR, "squint fixture"),
    ("test.u8", U8, 200), ("test.i8", I8, -5), ("test.u16", U16, 60000), ("test.i16", I16, -30000),
    ("test.u32", U32, 4000000000), ("test.i32", I32, -2000000000), ("test.f32", F32, 1.5),
    ("test.bool", BOOL, True), ("test.u64", U64, 2 ** 63), ("test.i64", I64, -(2 ** 62)), ("test.f64", F64, 0.125),
    ("test.arr_i32", ARR, (I32, [1, 2, 3])), ("test.arr_str", ARR, (STR, ["a", "bc"])),
    ("test.nested", ARR, (ARR, [(U8, [1, 2]), (U8, [3])])), ("test.long", ARR, (U16, list(range(20)))),
]


def gguf_good():
    i6 = np.arange(6)
    t = [
        ("f32", [3, 2], GF32, (i6 * 0.5 - 1).astype("<f4").tobytes(), None),
        ("f16", [4], GF16, (np.arange(4) * 0.25).astype("<f2").tobytes(), None),
        ("bf16", [2], GBF16, bf16([1.5, -2.0]), None),
        ("q8", [64, 2], GQ8_0, q8_0(4), None),
        ("q4", [32, 3], GQ4_0, q4_0(3), None),
        ("q4k", [256], GQ4_K, b"\0" * 144, None),
    ]
    with open(os.path.join(HERE, "good.gguf"), "wb") as fh:
        fh.write(gguf(GOOD_KV, t))
    kv2 = [("general.alignment", U32, 64), ("general.name", STR, "v2")]
    t2 = [("a", [3], GF32, np.array([1, 2, 3], "<f4").tobytes(), None),
          ("b", [2], GF32, np.array([4, 5], "<f4").tobytes(), None)]
    with open(os.path.join(HERE, "v2_align64.gguf"), "wb") as fh:
        fh.write(gguf(kv2, t2, version=2, align=64))


# ---- malformed files -------------------------------------------------------------

expected = []


def bad(name, data, needle):
    with open(os.path.join(BAD, name), "wb") as fh:
        fh.write(data)
    expected.append((name, needle))


def npy(header, data=b"", major=1):
    h = header.encode()
    h += b" " * (-(len(h) + 11) % 64) + b"\n"
    if major == 1:
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h + data
    return b"\x93NUMPY" + bytes([major, 0]) + struct.pack("<I", len(h)) + h + data


def make_bad():
    d = "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }"
    bad("npy_bad_magic.npy", b"\x93NUMPZ\x01\x00\x10\x00" + b" " * 16, "no \\x93NUMPY magic")
    bad("npy_empty.npy", b"", "no \\x93NUMPY magic")
    bad("npy_header_past_end.npy", b"\x93NUMPY\x01\x00\xff\xff{'descr'", "runs past the end")
    bad("npy_truncated_data.npy", npy(d % "(4,)", b"\0" * 12), "truncated data")
    bad("npy_negative_dim.npy", npy(d % "(-1, 3)"), "negative dimension")
    bad("npy_shape_overflow.npy", npy(d % "(4611686018427387904, 4611686018427387904)"), "overflows")
    bad("npy_huge_dim.npy", npy(d % "(999999999999999999999999,)"), "dimension too large")
    bad("npy_version9.npy", npy(d % "(1,)", b"\0" * 4)[:6] + b"\x09\x00" + npy(d % "(1,)", b"\0" * 4)[8:],
        "unsupported .npy format version 9")
    bad("npy_complex.npy", npy("{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }", b"\0" * 16),
        "unsupported dtype '<c16'")
    bad("npy_no_shape.npy", npy("{'descr': '<f4', 'fortran_order': False, }"), "lacks 'shape'")
    bad("npy_nine_dims.npy", npy(d % "(1, 1, 1, 1, 1, 1, 1, 1, 1)", b"\0" * 4), "more than 8 dimensions")
    bad("npy_trailing.npy", npy(d % "(1,)", b"\0" * 8), "unexpected bytes")
    bad("npy_bad_bool.npy", npy("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,), }", b"\0" * 4),
        "not True or False")
    bad("npy_v2_header_past_end.npy", b"\x93NUMPY\x02\x00\xff\xff\xff\x7f{", "runs past the end")

    f4 = np.zeros(2, "<f4").tobytes()
    ok = [("x", "F32", [2], f4)]
    bad("st_short.safetensors", b"\x10\0\0\0", "no header length")
    bad("st_header_past_end.safetensors", struct.pack("<Q", 1000) + b"{}", "runs past the end of the file")
    bad("st_header_huge.safetensors", struct.pack("<Q", 2 ** 63) + b"{}", "exceeds the 100 MB limit")
    bad("st_not_json.safetensors", st_bytes([], raw_header=b"{\"x\": [1, 2"), "not valid JSON")
    bad("st_bad_utf8.safetensors", st_bytes([], raw_header=b"{\"\xff\xfe\": {}}"), "not valid JSON")
    bad("st_not_object.safetensors", st_bytes([], raw_header=b"[1, 2, 3]"), "not a JSON object")
    bad("st_duplicate.safetensors", st_bytes([("x", "F32", [1], f4[:4]), ("y", "F32", [1], f4[:4])],
        raw_header=b'{"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, '
                   b'"x": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}'), "duplicate")
    bad("st_unknown_dtype.safetensors", st_bytes([("x", "Q9", [2], f4)]), "unknown dtype 'Q9'")
    bad("st_offsets_past_end.safetensors", st_bytes([], raw_header=b'{"x": {"dtype": "F32", "shape": [2], '
                                                                   b'"data_offsets": [0, 8]}}'),
        "past the end of the data")
    hdr = (b'{"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, '
           b'"y": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}')
    bad("st_overlap.safetensors", st_bytes([], raw_header=hdr) + b"\0" * 12, "overlaps the previous tensor")
    hdr = b'{"x": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}'
    bad("st_gap.safetensors", st_bytes([], raw_header=hdr) + b"\0" * 8, "leaves a gap")
    hdr = b'{"x": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}'
    bad("st_span_mismatch.safetensors", st_bytes([], raw_header=hdr) + b"\0" * 8, "does not match shape")
    hdr = b'{"x": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 0]}}'
    bad("st_shape_overflow.safetensors", st_bytes([], raw_header=hdr), "shape's size overflows")
    hdr = b'{"x": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 0]}}'
    bad("st_negative_dim.safetensors", st_bytes([], raw_header=hdr), "not a non-negative integer")
    bad("st_trailing.safetensors", st_bytes(ok) + b"\0" * 4, "belong to no tensor")
    bad("st_meta_not_string.safetensors", st_bytes(ok, {"n": 3}), "__metadata__ value of 'n' is not a string")
    hdr = b'{"x": {"dtype": "F32", "shape": [1], "data_offsets": [8, 4]}}'
    bad("st_offsets_reversed.safetensors", st_bytes([], raw_header=hdr) + b"\0" * 8, "bad data_offsets")
    hdr = b'{"x": {"dtype": "F32", "shape": [1,1,1,1,1,1,1,1,1], "data_offsets": [0, 4]}}'
    bad("st_nine_dims.safetensors", st_bytes([], raw_header=hdr) + b"\0" * 4, "9 dimensions")

    f = np.zeros(2, "<f4").tobytes()
    g = gguf([], [("a", [2], GF32, f, None)])
    bad("gg_bad_magic.gguf", b"GGUX" + g[4:], "bad magic")
    bad("gg_version1.gguf", b"GGUF" + struct.pack("<I", 1) + g[8:], "unsupported GGUF version 1")
    bad("gg_truncated_header.gguf", g[:12], "truncated")
    bad("gg_key_too_long.gguf", b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 2 ** 40) + b"key" + b"\0" * 16,
        "longer than the file")
    bad("gg_kv_count_huge.gguf", b"GGUF" + struct.pack("<IQQ", 3, 0, 2 ** 62), "metadata count")
    bad("gg_tensor_count_huge.gguf", b"GGUF" + struct.pack("<IQQ", 3, 2 ** 62, 0), "tensor count")
    bad("gg_five_dims.gguf", gguf([], [("a", [1, 1, 1, 1, 2], GF32, f, None)]), "5 dimensions (at most 4)")
    bad("gg_unknown_type.gguf", gguf([], [("a", [2], 99, f, None)]), "unsupported ggml type 99")
    bad("gg_misaligned.gguf", gguf([], [("a", [2], GF32, f, 4)]), "not a multiple of the alignment")
    bad("gg_data_past_end.gguf", gguf([], [("a", [2], GF32, f, None)])[:-28], "runs past the end of the file")
    bad("gg_overlap.gguf", gguf([], [("a", [16], GF32, bytes(64), 0), ("b", [2], GF32, f, 32)]), "overlap")
    bad("gg_bad_alignment.gguf", gguf([("general.alignment", U32, 3)], []), "not a power of two")
    bad("gg_alignment_type.gguf", gguf([("general.alignment", STR, "32")], []), "general.alignment is string")
    bad("gg_negative_dim.gguf", gguf([], [("a", [2 ** 64 - 1], GF32, f, None)]), "negative dimension")
    bad("gg_shape_overflow.gguf", gguf([], [("a", [2 ** 40, 2 ** 40], GF32, f, None)]), "overflows")
    bad("gg_q8_row.gguf", gguf([], [("a", [33], GQ8_0, bytes(34), None)]), "not a multiple of the Q8_0 block size")
    bad("gg_bad_kv_type.gguf", gguf([("k", 42, None)] if False else [], [], n_kv=1)[:24] +
        gstr("k") + struct.pack("<I", 42) + b"\0" * 8, "unknown metadata value type 42")
    bad("gg_array_huge.gguf", b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + gstr("k") + struct.pack("<IIQ", ARR, U32, 2 ** 60),
        "metadata array of")
    bad("gg_duplicate_names.gguf", gguf([], [("a", [2], GF32, f, None), ("a", [2], GF32, f, None)]),
        "duplicate tensor name 'a'")
    deep = b"".join(struct.pack("<IQ", ARR, 1) for _ in range(10)) + struct.pack("<IQ", U8, 0)
    bad("gg_nested_deep.gguf", b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + gstr("k") + struct.pack("<I", ARR) + deep,
        "nested deeper")
    bad("gg_string_value_too_long.gguf", b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + gstr("k") + struct.pack("<IQ", STR, 2 ** 50),
        "longer than the file")

    with open(os.path.join(BAD, "EXPECTED"), "w") as fh:
        fh.write("# file<TAB>substring its error message must contain (besides the file name)\n")
        for n, s in expected:
            fh.write(f"{n}\t{s}\n")


st_good()
gguf_good()
make_bad()
print(f"{len(expected)} malformed files")
