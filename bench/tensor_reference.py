#!/usr/bin/env python3
"""Reference numbers for tensor compression, beside Sibyl's, in one run.

For every .npy / .safetensors file given (or found in the directories given):

  zstd-19     the whole file with `zstd -19`
  planes      a ZipNN stand-in: the numbers of each element type are
              gathered, split into byte planes (byte 0 of every element,
              then byte 1, ...) and every plane is compressed with
              `zstd -19`; the container header is compressed on its own
  sibyl       `build/sibyl -c -LEVEL` (lossless), round trip checked
  zfp rel E   (with --zfp E,...) zfp fixed-accuracy mode on every float
              tensor with tolerance E * max|x| of that tensor (f16/bf16
              widened to f32 first), the header and other bytes counted
              raw; ratio = original file bytes / (zfp bytes + the rest)
  order0 E    the ideal order-0 entropy of uniform quantisation with step
              2 * E * max|x| per tensor (what a plain quantiser plus a
              perfect static entropy coder would reach; it ignores that the
              reconstruction must be a value of the element type)
  sibyl E     `build/sibyl -c -LEVEL --error rel:E`, decoded and checked:
              every float within E * max|x| of its tensor (Sibyl's bound is
              relative to the tensor's part in a 16 MiB block, never larger)

Ratios are original bytes / compressed bytes. Only the Python standard
library and the `zstd` and `zfp` programs (Debian packages zstd, zfp) are
used.

  bench/tensor_reference.py ../shared/corpus/tensor
  bench/tensor_reference.py --zfp 1e-3,1e-4 --level 6 FILES...
"""
import argparse
import array
import json
import math
import os
import struct
import subprocess
import sys
import tempfile
import time

SIZES = {"F32": 4, "F16": 2, "BF16": 2, "F64": 8, "I8": 1, "U8": 1, "I16": 2, "U16": 2, "I32": 4, "U32": 4, "BOOL": 1}
NPY = {"<f4": "F32", "<f2": "F16", "<f8": "F64", "|i1": "I8", "|u1": "U8", "<i2": "I16", "<u2": "U16", "<i4": "I32",
       "<u4": "U32"}


def tensors(data):
    """(header_bytes, [(name, dtype, shape, begin, end)]) or None."""
    if data[:6] == b"\x93NUMPY":
        major = data[6]
        hlen, start = (struct.unpack("<H", data[8:10])[0], 10) if major == 1 else (struct.unpack("<I", data[8:12])[0], 12)
        import ast
        h = ast.literal_eval(data[start:start + hlen].decode("latin1"))
        dt = NPY.get(h["descr"])
        if dt is None:
            return None
        n = 1
        for d in h["shape"]:
            n *= d
        b = start + hlen
        shape = list(h["shape"]) if not h["fortran_order"] else list(reversed(h["shape"]))
        return b, [("array", dt, shape, b, b + n * SIZES[dt])]
    n = struct.unpack("<Q", data[:8])[0]
    if n > len(data):
        return None
    try:
        h = json.loads(data[8:8 + n])
    except ValueError:
        return None
    out = []
    for name, t in h.items():
        if name == "__metadata__" or t["dtype"] not in SIZES:
            continue
        b, e = t["data_offsets"]
        out.append((name, t["dtype"], t["shape"], 8 + n + b, 8 + n + e))
    out.sort(key=lambda x: x[3])
    return 8 + n, out


def tensor_files(paths):
    """The files given, with directories replaced by their .npy and .safetensors files."""
    files = []
    for p in paths:
        if os.path.isdir(p):
            files += sorted(os.path.join(p, f) for f in os.listdir(p) if f.endswith((".npy", ".safetensors")))
        else:
            files.append(p)
    return files


def zstd_size(blob):
    if not blob:
        return 0
    return len(subprocess.run(["zstd", "-19", "-q", "-c"], input=blob, capture_output=True, check=True).stdout)


def planes_size(data, header, ts):
    total = zstd_size(data[:header])
    covered = header
    by_type = {}
    for _, dt, _, b, e in ts:
        by_type.setdefault(dt, []).append(data[b:e])
        covered += e - b
    for dt, parts in by_type.items():
        blob = b"".join(parts)
        w = SIZES[dt]
        for k in range(w):
            total += zstd_size(blob[k::w])
    rest = len(data) - covered
    return total + rest  # padding between tensors (none in the corpus) counted raw


def floats(dt, raw):
    """Values of a float tensor as an array('f') or array('d')."""
    if dt == "F32":
        a = array.array("f")
        a.frombytes(raw)
        return a
    if dt == "F64":
        a = array.array("d")
        a.frombytes(raw)
        return a
    if dt == "BF16":
        u = array.array("H")
        u.frombytes(raw)
        w = array.array("I", (x << 16 for x in u))
        a = array.array("f")
        a.frombytes(w.tobytes())
        return a
    if dt == "F16":
        return array.array("f", (struct.unpack("<e", raw[i:i + 2])[0] for i in range(0, len(raw), 2)))
    return None


def float_tensors(data, ts):
    """(dtype, shape, begin, end, values, max |finite value|) of every float tensor."""
    for _, dt, shape, b, e in ts:
        vals = floats(dt, data[b:e])
        if vals is None or len(vals) == 0:
            continue
        finite = [abs(v) for v in vals if math.isfinite(v)]
        yield dt, shape, b, e, vals, (max(finite) if finite else 0.0)


def zfp_size(data, header, ts, rel, tmp):
    total = len(data)
    for dt, shape, b, e, vals, m in float_tensors(data, ts):
        if m == 0.0:
            continue
        tol = rel * m
        src, dst = os.path.join(tmp, "in.raw"), os.path.join(tmp, "out.zfp")
        if vals.typecode == "d":
            kind = "-d"
        else:
            kind = "-f"
            vals = array.array("f", vals)
        with open(src, "wb") as f:
            f.write(vals.tobytes())
        nx = shape[-1] if shape else 1
        ny = len(vals) // nx
        dims = ["-2", str(nx), str(ny)] if ny > 1 else ["-1", str(nx)]
        subprocess.run(["zfp", kind, *dims, "-a", repr(tol), "-i", src, "-z", dst], check=True, capture_output=True)
        total += os.path.getsize(dst) - (e - b)
    return total


def order0_bits(data, ts, rel):
    bits, n_total = 0.0, 0
    for _, _, _, _, vals, m in float_tensors(data, ts):
        step = 2 * rel * m if m > 0 else 1.0
        counts = {}
        for v in vals:
            q = round(v / step) if math.isfinite(v) else None
            counts[q] = counts.get(q, 0) + 1
        n = len(vals)
        bits += -sum(c * math.log2(c / n) for c in counts.values())
        n_total += n
    return bits, n_total


def sibyl_lossy(data, ts, sibyl, level, rel):
    """Compressed size at --error rel:E, after checking every element."""
    comp = subprocess.run([sibyl, "-c", f"-{level}", "-T1", "--error", f"rel:{rel!r}"], input=data,
                          capture_output=True, check=True).stdout
    back = subprocess.run([sibyl, "-d", "-c", "-T1"], input=comp, capture_output=True, check=True).stdout
    if len(back) != len(data):
        raise SystemExit("sibyl lossy: size changed")
    covered = [(b, e) for _, _, _, b, e in ts]
    pos = 0
    for b, e in covered:
        if data[pos:b] != back[pos:b]:
            raise SystemExit("sibyl lossy: bytes outside the tensors changed")
        pos = e
    if data[pos:] != back[pos:]:
        raise SystemExit("sibyl lossy: trailing bytes changed")
    for dt, _, b, e, vals, m in float_tensors(data, ts):
        got = floats(dt, back[b:e])
        for x, y in zip(vals, got):
            if math.isfinite(x) and not abs(x - y) <= rel * m:
                raise SystemExit(f"sibyl lossy: {x} decoded as {y}, beyond {rel} * {m}")
    return len(comp)


def sibyl_size(data, sibyl, level):
    t0 = time.perf_counter()
    comp = subprocess.run([sibyl, "-c", f"-{level}", "-T1"], input=data, capture_output=True, check=True).stdout
    t1 = time.perf_counter()
    back = subprocess.run([sibyl, "-d", "-c", "-T1"], input=comp, capture_output=True, check=True).stdout
    t2 = time.perf_counter()
    if back != data:
        raise SystemExit("sibyl round trip failed")
    return len(comp), len(data) / (t1 - t0) / 1e6, len(data) / (t2 - t1) / 1e6


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--sibyl", default=os.path.join(os.path.dirname(__file__), "..", "build", "sibyl"))
    ap.add_argument("--level", type=int, default=6)
    ap.add_argument("--zfp", default="", help="comma-separated relative tolerances, e.g. 1e-3,1e-4")
    args = ap.parse_args()
    files = tensor_files(args.paths)
    rels = [float(x) for x in args.zfp.split(",") if x]
    head = ["file", "bytes", "zstd-19", "planes", f"sibyl-{args.level}", "vs planes", "MB/s c/d"]
    for r in rels:
        head += [f"zfp {r:g}", f"order0 {r:g}", f"sibyl {r:g}", "vs zfp"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    tot = {"bytes": 0, "zstd": 0, "planes": 0, "sibyl": 0}
    with tempfile.TemporaryDirectory() as tmp:
        for path in files:
            data = open(path, "rb").read()
            parsed = tensors(data)
            if parsed is None:
                print(f"# {path}: not a tensor container, skipped", file=sys.stderr)
                continue
            header, ts = parsed
            z = zstd_size(data)
            pl = planes_size(data, header, ts)
            sb, cs, ds = sibyl_size(data, args.sibyl, args.level)
            row = [os.path.basename(path), str(len(data)), f"{len(data) / z:.3f}", f"{len(data) / pl:.3f}",
                   f"{len(data) / sb:.3f}", f"{pl / sb:.3f}", f"{cs:.1f} / {ds:.1f}"]
            for r in rels:
                zs = zfp_size(data, header, ts, r, tmp)
                row.append(f"{len(data) / zs:.3f}")
                bits, n = order0_bits(data, ts, r)
                numbers = sum(e - b for _, _, _, b, e in ts)
                row.append(f"{len(data) / (len(data) - numbers + bits / 8):.3f}")
                ls = sibyl_lossy(data, ts, args.sibyl, args.level, r)
                row += [f"{len(data) / ls:.3f}", f"{zs / ls:.2f}"]
            print("| " + " | ".join(row) + " |", flush=True)
            tot["bytes"] += len(data)
            tot["zstd"] += z
            tot["planes"] += pl
            tot["sibyl"] += sb
    if tot["sibyl"]:
        print(f"| total | {tot['bytes']} | {tot['bytes'] / tot['zstd']:.3f} | {tot['bytes'] / tot['planes']:.3f} | "
              f"{tot['bytes'] / tot['sibyl']:.3f} | {tot['planes'] / tot['sibyl']:.3f} | |")


if __name__ == "__main__":
    main()
