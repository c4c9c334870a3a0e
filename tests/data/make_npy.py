#!/usr/bin/python3
"""Write the .npy fixtures under tests/data/npy with numpy's own writer.

Run from anywhere: python3 tests/data/make_npy.py. The values follow simple
formulas that tests/test_npy.c recomputes (see the comments there):
  float dtypes:  a[i] = i * 0.25 - 2.5        (flat C-order index i)
  signed ints:   a[i] = (i - 12) * m   with m = 1 (i1), 1000 (i2), 100000 (i4)
  uint8:         a[i] = i * 10
"""
import os
import numpy as np
from numpy.lib import format as npf

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "npy")
os.makedirs(out, exist_ok=True)

MULT = {"i1": 1, "i2": 1000, "i4": 100000}


def values(code, shape):
    n = int(np.prod(shape)) if len(shape) else 1
    i = np.arange(n, dtype=np.float64)
    if code[0] == "f":
        v = i * 0.25 - 2.5
    elif code == "u1":
        v = i * 10
    else:
        v = (i - 12) * MULT[code]
    return v.reshape(shape)


def save(name, arr, version=None):
    with open(os.path.join(out, name), "wb") as f:
        npf.write_array(f, arr, version=version)


for code in ["f2", "f4", "f8", "i1", "u1", "i2", "i4"]:
    orders = ["<", ">"] if code[1] != "1" else ["|"]
    for bo in orders:
        dt = np.dtype(bo + code if bo != "|" else code)
        base = values(code, (2, 3, 4)).astype(dt)
        tag = {"<": "le", ">": "be", "|": "na"}[bo]
        save(f"{code}_{tag}_c.npy", np.ascontiguousarray(base))
        save(f"{code}_{tag}_f.npy", np.asfortranarray(base))

# format versions (1.0 is the default above)
f4 = values("f4", (2, 3, 4)).astype("<f4")
save("f4_v1.npy", f4, (1, 0))
save("f4_v2.npy", f4, (2, 0))
save("f4_v3.npy", f4, (3, 0))
save("f4_v2_f.npy", np.asfortranarray(f4), (2, 0))
# 0-d, 1-d, 2-d Fortran, empty arrays
save("f4_0d.npy", np.array(-2.5, dtype="<f4"))
save("f8_1d.npy", values("f8", (7,)).astype("<f8"))
save("i2_2d_f.npy", np.asfortranarray(values("i2", (3, 5)).astype("<i2")))
save("f4_empty.npy", np.zeros((0,), dtype="<f4"))
save("f4_empty_2d.npy", np.zeros((3, 0), dtype="<f4"))
# dtypes squint refuses (the error must name them)
save("unsupported_c8.npy", np.zeros((2,), dtype="<c8"))
save("unsupported_i8.npy", np.zeros((2,), dtype="<i8"))
save("unsupported_bool.npy", np.zeros((2,), dtype="?"))
save("unsupported_str.npy", np.array(["ab", "c"], dtype="<U2"))
save("unsupported_object.npy", np.array([1, "x"], dtype=object))
save("unsupported_struct.npy", np.zeros((2,), dtype=[("a", "<f4"), ("b", "<i4")]))
