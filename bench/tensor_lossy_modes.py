#!/usr/bin/env python3
"""Sibyl's two lossy tensor modes side by side, and the KV-cache layout.

Vector quantisation (--vq D:S[:K]) has no error bound; it is judged by the
error it makes. For every .npy / .safetensors file given and every VQ
setting, this runs `build/sibyl -c --vq ...`, decodes the archive, measures
the error of every float value itself (and checks it against what the
program printed), then runs the scalar quantiser (`--error abs:E`) with the
E that gives a uniform quantiser the same root-mean-square error
(E = rms * sqrt(3)) and measures that too, so both modes are compared at
(about) the same error:

  | file | mode | ratio | rms error | SNR dB | max error | MB/s c/d |

SNR is 10 log10(sum x^2 / sum (x - y)^2) over the float values; ratio is
file bytes / archive bytes.

--kv-synthetic also writes a synthetic KV cache (no real one is in the
corpus): safetensors with one f16 tensor "past_key_values.0.key"
[layers, heads, tokens, channels]; per layer a scale from 1 to 100, per
head and channel a slow random walk along the tokens plus noise. It is
coded at --error rel:E with the KV layout (found from the name) and, for
comparison, under a name without it; every value is checked against the
bound of its layer (with the layout) or of the tensor (without).

Only the Python standard library and build/sibyl are used.

  bench/tensor_lossy_modes.py --vq 8:1,8:2,4:2 ../shared/corpus/tensor/spikegpt_trained10_emb.fp32.npy
  bench/tensor_lossy_modes.py --kv-synthetic 1e-3,1e-2
"""
import argparse
import array
import json
import math
import os
import random
import re
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tensor_reference import floats, tensor_files, tensors  # noqa: E402  (same parsing as the reference script)


def run(sibyl, args, data):
    t0 = time.perf_counter()
    p = subprocess.run([sibyl, "-c", "-T1", *args], input=data, capture_output=True, check=True)
    t1 = time.perf_counter()
    back = subprocess.run([sibyl, "-d", "-c", "-T1"], input=p.stdout, capture_output=True, check=True).stdout
    t2 = time.perf_counter()
    if len(back) != len(data):
        raise SystemExit("size changed")
    return p.stdout, back, p.stderr.decode(), len(data) / (t1 - t0) / 1e6, len(data) / (t2 - t1) / 1e6


def error_of(data, back, ts):
    """(max |e|, rms e, SNR dB, float values) over the finite float values; bytes outside them must be equal."""
    pos = 0
    mx, se, sx, n = 0.0, 0.0, 0.0, 0
    for _, dt, _, b, e in ts:
        if data[pos:b] != back[pos:b]:
            raise SystemExit("bytes outside the tensors changed")
        pos = e
        x, y = floats(dt, data[b:e]), floats(dt, back[b:e])
        if x is None:
            if data[b:e] != back[b:e]:
                raise SystemExit("a tensor that is not float changed")
            continue
        for u, v in zip(x, y):
            if not math.isfinite(u):
                continue
            d = abs(u - v)
            mx = max(mx, d)
            se += d * d
            sx += u * u
            n += 1
    if data[pos:] != back[pos:]:
        raise SystemExit("trailing bytes changed")
    rms = math.sqrt(se / n) if n else 0.0
    snr = 10 * math.log10(sx / se) if se > 0 else float("inf")
    return mx, rms, snr, n


def vq_rows(path, data, sibyl, level, configs):
    parsed = tensors(data)
    if parsed is None:
        print(f"# {path}: not a tensor container, skipped", file=sys.stderr)
        return
    _, ts = parsed
    name = os.path.basename(path)
    for cfg in configs:
        z, back, err, cs, ds = run(sibyl, [f"-{level}", "--vq", cfg], data)
        mx, rms, snr, n = error_of(data, back, ts)
        m = re.search(r"max error ([^,]+), rms error ([^ ]+) ", err)
        if n and (m is None or abs(float(m.group(1)) - mx) > 1e-5 * mx or abs(float(m.group(2)) - rms) > 1e-5 * rms):
            raise SystemExit(f"{name}: the printed error '{err.strip()}' is not the measured {mx} / {rms}")
        print(f"| {name} | vq {cfg} | {len(data) / len(z):.3f} | {rms:.4g} | {snr:.2f} | {mx:.4g} | {cs:.1f} / {ds:.1f} |",
              flush=True)
        if rms == 0:
            continue
        e = rms * math.sqrt(3)
        z2, back2, _, cs2, ds2 = run(sibyl, [f"-{level}", "--error", f"abs:{e!r}"], data)
        mx2, rms2, snr2, _ = error_of(data, back2, ts)
        if mx2 > e:
            raise SystemExit(f"{name}: scalar error {mx2} beyond its bound {e}")
        print(f"| {name} | scalar abs:{e:.3g} | {len(data) / len(z2):.3f} | {rms2:.4g} | {snr2:.2f} | {mx2:.4g} | "
              f"{cs2:.1f} / {ds2:.1f} |", flush=True)


def synthetic_kv(layers=8, heads=8, tokens=512, channels=64, seed=1):
    rng = random.Random(seed)
    vals = array.array("f")
    for layer in range(layers):
        scale = 10 ** (2 * layer / (layers - 1))
        for _ in range(heads):
            walk = [rng.gauss(0, 1) for _ in range(channels)]
            for _ in range(tokens):
                for c in range(channels):
                    walk[c] += 0.1 * rng.gauss(0, 1)
                    vals.append(scale * (walk[c] + 0.3 * rng.gauss(0, 1)))
    f16 = b"".join(struct.pack("<e", v) for v in vals)
    return f16, [layers, heads, tokens, channels]


def safetensors(name, dtype, shape, blob):
    h = json.dumps({name: {"dtype": dtype, "shape": shape, "data_offsets": [0, len(blob)]}}).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + blob


def kv_rows(sibyl, level, rels):
    blob, shape = synthetic_kv()
    layers = shape[0]
    per = len(blob) // 2 // layers
    for name in ("past_key_values.0.key", "weights"):
        data = safetensors(name, "F16", shape, blob)
        header = len(data) - len(blob)
        x = floats("F16", blob)
        for rel in rels:
            z, back, _, cs, ds = run(sibyl, [f"-{level}", "--error", f"rel:{rel!r}"], data)
            y = floats("F16", back[header:])
            whole = rel * max(abs(v) for v in x)
            for k in range(layers):
                part = slice(k * per, (k + 1) * per)
                bound = rel * max(abs(v) for v in x[part]) if name != "weights" else whole
                if any(abs(u - v) > bound for u, v in zip(x[part], y[part])):
                    raise SystemExit(f"{name}: layer {k} beyond its bound")
            mx, rms, snr, _ = error_of(data, back, tensors(data)[1])
            mode = "KV layout" if name != "weights" else "one tensor"
            print(f"| synthetic KV f16 {'x'.join(map(str, shape))} | rel:{rel:g}, {mode} | {len(data) / len(z):.3f} | "
                  f"{rms:.4g} | {snr:.2f} | {mx:.4g} | {cs:.1f} / {ds:.1f} |", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="*")
    ap.add_argument("--sibyl", default=os.path.join(os.path.dirname(__file__), "..", "build", "sibyl"))
    ap.add_argument("--level", type=int, default=6)
    ap.add_argument("--vq", default="8:1,8:2", help="comma-separated D:S[:K] settings")
    ap.add_argument("--kv-synthetic", default="", help="comma-separated relative bounds for the synthetic KV cache")
    args = ap.parse_args()
    print("| file | mode | ratio | rms error | SNR dB | max error | MB/s c/d |")
    print("|---|---|---:|---:|---:|---:|---|")
    for path in tensor_files(args.paths):
        vq_rows(path, open(path, "rb").read(), args.sibyl, args.level, [c for c in args.vq.split(",") if c])
    if args.kv_synthetic:
        kv_rows(args.sibyl, args.level, [float(r) for r in args.kv_synthetic.split(",")])


if __name__ == "__main__":
    main()
