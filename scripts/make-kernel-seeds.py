#!/usr/bin/env python3
"""Writes the seed corpus of the kernel fuzzer (Fuzz/corpus/kernels): the rows of the
special-value contract and the numerical edges, in the byte format of
Fuzz/KernelFuzzInput.swift. Run from the repository's root; the seeds are committed, so this
is needed only to change them. Seeds named regression-* are inputs that once failed: keep
them when rewriting the others."""

import math
import os
import struct

OUT = "Fuzz/corpus/kernels"
INF, NAN = math.inf, math.nan
BIG = struct.unpack("<f", struct.pack("<I", 0x7F7FFFFF))[0]
BELOW_BIG = struct.unpack("<f", struct.pack("<I", 0x7F7FFFFE))[0]
SUBNORMAL = struct.unpack("<f", struct.pack("<I", 0x00000001))[0]
LEAST_NORMAL = struct.unpack("<f", struct.pack("<I", 0x00800000))[0]


def mode(encoding, rows=1, long=False, temperature=0):
    return encoding | (rows - 1) << 2 | (0x30 if long else 0) | temperature << 6


def floats(values, rows=1, long=False, temperature=0):
    return bytes([mode(0, rows, long, temperature), 0]) + struct.pack(f"<{len(values)}f", *values)


def halves(values, rows=1):
    return bytes([mode(1, rows), 0]) + struct.pack(f"<{len(values)}e", *values)


def scaled(signed_bytes, exponent, rows=1, long=False, temperature=0):
    return bytes([mode(2, rows, long, temperature), exponent + 12]) + bytes(
        b & 0xFF for b in signed_bytes)


def offset(base, signed_bytes, exponent, rows=1):
    return bytes([mode(3, rows), exponent + 8]) + struct.pack("<f", base) + bytes(
        b & 0xFF for b in signed_bytes)


SEEDS = {
    "empty": floats([]),
    "one": floats([5]),
    "minus-inf": floats([-INF]),
    "plus-inf": floats([INF]),
    "nan": floats([NAN]),
    "all-minus-inf": floats([-INF] * 3),
    "masked-but-one": floats([-INF, 0, -INF]),
    "two-infinities": floats([INF, 0, -INF, INF]),
    "three-infinities": floats([INF, INF, INF, -5]),
    "inf-and-nan": floats([INF, NAN]),
    "nan-among-finite": floats([1, 2, NAN, 4] * 5),
    "greatest-finite-tie": floats([BIG, BIG]),
    "greatest-finite-neighbours": floats([BIG, BELOW_BIG]),
    "greatest-finite-opposites": floats([-BIG, BIG, 0]),
    "huge-tie": floats([1e30, 1e30, 0]),
    "beyond-two-pass-range": floats([3000, 3000, 2772, -2668]),
    "below-two-pass-range": floats([-3000, -3000, -INF]),
    "tiny-probabilities": floats([0, -87, -88, -104, -105, -200]),
    "subnormal-inputs": floats([SUBNORMAL, -SUBNORMAL, LEAST_NORMAL, -0.0, 0.0]),
    "rows-of-specials": floats([INF, 1, -INF, -INF, NAN, 2, 3, 4], rows=4),
    "float16-normal": halves([0.5 * i - 8 for i in range(33)]),
    "float16-extremes": halves([65504, -65504, 65504, 0, INF, -INF], rows=2),
    "small-integers": scaled(list(range(-64, 64, 3)), 0),
    "small-integers-4-rows": scaled(list(range(-100, 100, 2)), -4, rows=4),
    "wide-integers": scaled(list(range(-128, 128, 7)), 20),
    "near-ties-at-1e8": offset(1e8, list(range(-50, 50)), 3),
    "near-ties-at-1e30": offset(1e30, [0, 1, -1, 2, -2, 127, -128], 7),
    "long-row": scaled(list(range(-30, 30)), -2, long=True),
    "long-row-with-inf": floats([INF] + [float(i) for i in range(40)], long=True),
    "long-row-temperature": scaled(list(range(-30, 30)), 0, long=True, temperature=1),
    "temperature-overflow": floats([1e10, -1e10, 0, 1], temperature=3),
    "temperature-3": scaled(list(range(-100, 100, 9)), 1, temperature=2),
}

os.makedirs(OUT, exist_ok=True)
for name, data in SEEDS.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
print(f"{len(SEEDS)} seeds in {OUT}")
