#!/usr/bin/env python3
"""How far the tensor targets are from what the data allows, per file.

The targets of the tensor work (lossless: 1.05 x the byte-plane figure on
every file; lossy: 1.5 x zfp's ratio at the same relative bound on every
file) are compared with static entropy estimates of the same files:

  lossless estimate  per float tensor: the entropy of the exponent field in
                     the context of the row's scale, of the sign given the
                     exponent, and of the top 8 mantissa bits given the
                     exponent; the mantissa bits below them counted as they
                     are (raw). This is the size a coder reaches when the
                     values are independent draws with a scale per row
                     (model cost left out); a coder can only beat it by
                     finding dependence between values.
  lossy bound        uniform quantisation with step 2 * E * max|x| (what
                     any quantiser must stay within), the codes' entropy in
                     the context of the row's scale (the order-0 entropy
                     when that is smaller). For independent values with a
                     smooth density this is the rate-distortion bound of
                     the maximum-error criterion (Shannon's lower bound with
                     a uniform error), up to vanishing terms.

The row's scale is its root-mean-square on a quarter-octave scale (rows:
the first axis). Bytes outside the float tensors count as they are. zfp
and zstd are run as in tensor_reference.py (Debian packages zfp, zstd).

  bench/tensor_bounds.py ../shared/corpus/tensor
"""
import argparse
import math
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tensor_reference as tr  # noqa: E402

FIELDS = {"F32": (8, 23), "BF16": (8, 7), "F16": (5, 10), "F64": (11, 52)}


def entropy(counts):
    n = sum(counts.values())
    return -sum(c * math.log2(c / n) for c in counts.values()) if n else 0.0


def row_buckets(vals, shape):
    """The quarter-octave bucket of every value's row (one bucket without rows)."""
    n = len(vals)
    rows = shape[0] if len(shape) >= 2 and shape[0] > 1 else 1
    width = n // rows
    out = []
    for r in range(rows):
        part = [v for v in vals[r * width:(r + 1) * width] if math.isfinite(v)]
        ms = sum(v * v for v in part) / len(part) if part else 0.0
        out.append(round(4 * math.log2(ms) / 2) if ms > 0 else -10000)
    return out, width


def bits_of(dt, raw):
    import array
    if dt == "F32":
        a = array.array("I")
    elif dt in ("F16", "BF16"):
        a = array.array("H")
    else:
        a = array.array("Q")
    a.frombytes(raw)
    return a


def lossless_bits(dt, shape, raw, vals):
    ebits, mbits = FIELDS[dt]
    top = min(8, mbits)
    words = bits_of(dt, raw)
    buckets, width = row_buckets(vals, shape)
    exp_ctx, sign_ctx, mant_ctx = {}, {}, {}
    for i, w in enumerate(words):
        e = (w >> mbits) & ((1 << ebits) - 1)
        s = w >> (mbits + ebits)
        m = (w >> (mbits - top)) & ((1 << top) - 1)
        rb = buckets[i // width] if width else 0
        exp_ctx.setdefault(rb, {})
        exp_ctx[rb][e] = exp_ctx[rb].get(e, 0) + 1
        sign_ctx.setdefault(e, {})
        sign_ctx[e][s] = sign_ctx[e].get(s, 0) + 1
        mant_ctx.setdefault(e, {})
        mant_ctx[e][m] = mant_ctx[e].get(m, 0) + 1
    bits = sum(entropy(c) for c in exp_ctx.values()) + sum(entropy(c) for c in sign_ctx.values())
    bits += sum(entropy(c) for c in mant_ctx.values()) + len(words) * (mbits - top)
    return bits


def lossy_bits(shape, vals, m, rel):
    step = 2 * rel * m
    buckets, width = row_buckets(vals, shape)
    whole, by_row = {}, {}
    for i, v in enumerate(vals):
        q = round(v / step) if math.isfinite(v) else None
        whole[q] = whole.get(q, 0) + 1
        rb = buckets[i // width] if width else 0
        d = by_row.setdefault(rb, {})
        d[q] = d.get(q, 0) + 1
    return min(entropy(whole), sum(entropy(c) for c in by_row.values()))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--rel", default="1e-3,1e-4", help="relative bounds (default 1e-3,1e-4)")
    args = ap.parse_args()
    rels = [float(r) for r in args.rel.split(",")]
    head = "| file | planes | target 1.05 x | lossless estimate |"
    for r in rels:
        head += f" zfp {r:g} | target 1.5 x | bound {r:g} |"
    print(head)
    print("|---" * (4 + 3 * len(rels)) + "|")
    with tempfile.TemporaryDirectory() as tmp:
        for path in tr.tensor_files(args.paths):
            with open(path, "rb") as f:
                data = f.read()
            parsed = tr.tensors(data)
            if parsed is None:
                continue
            header, ts = parsed
            planes = len(data) / tr.planes_size(data, header, ts)
            float_bytes = 0
            ll_bits = 0.0
            lossy = [0.0] * len(rels)
            for dt, shape, b, e, vals, m in tr.float_tensors(data, ts):
                if dt not in FIELDS:
                    continue
                float_bytes += e - b
                ll_bits += lossless_bits(dt, shape, data[b:e], vals)
                for k, r in enumerate(rels):
                    lossy[k] += lossy_bits(shape, vals, m, r) if m > 0 else 0.0
            rest = len(data) - float_bytes
            ll = len(data) / (rest + ll_bits / 8)
            row = f"| {os.path.basename(path)} | {planes:.3f} | {1.05 * planes:.3f} | {ll:.3f}{'' if ll >= 1.05 * planes else ' (below)'} |"
            for k, r in enumerate(rels):
                zfp = len(data) / tr.zfp_size(data, header, ts, r, tmp)
                bound = len(data) / (rest + lossy[k] / 8)
                row += f" {zfp:.3f} | {1.5 * zfp:.3f} | {bound:.3f}{'' if bound >= 1.5 * zfp else ' (below)'} |"
            print(row, flush=True)


if __name__ == "__main__":
    main()
