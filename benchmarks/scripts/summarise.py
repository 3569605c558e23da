#!/usr/bin/env python3
"""Summarises a compare-llama-cpp.sh output directory as the markdown tables of docs/performance.md.

    benchmarks/scripts/summarise.py OUT_DIR

Medians over every sample of every round (llama-bench repetitions, halyard bench repetitions);
decode bandwidth use = decode tokens/s x bytes streamed per token / measured read bandwidth.
"""
import glob
import json
import os
import re
import statistics
import sys

out = sys.argv[1]
GIB = 1 << 30
# bytes a decode token streams: every weight once (Halyard's packed Q8_0/Q4_0 hold float scales)
BYTES = {}  # (quant, "llama.cpp"): llama-bench's model_size
PARAMS = 134_515_008


def halyard_bytes(quant):
    per_weight = {"f32": 4.0, "q8_0": 36 / 32, "q4_0": 20 / 32}[quant]
    return PARAMS * per_weight


def load(path):
    try:
        with open(path) as f:
            return json.load(f)["load"]
    except Exception:
        return None


samples = {}
loads = []


def add(key, values):
    samples.setdefault(key, []).extend(v for v in values if v)


bandwidth = []
for path in sorted(glob.glob(os.path.join(out, "r*-bandwidth.txt"))):
    for line in open(path):
        m = re.match(r"MemoryBandwidthBenchmark\.readOneGiB\s+(\d+)\s+avgt\s+\d+\s+([\d.]+)", line)
        if m:
            bandwidth.append(GIB / (float(m.group(2)) / 1000) / 1e9)
for path in sorted(glob.glob(os.path.join(out, "r*-*-b*-*.json"))):
    name = os.path.basename(path)[:-5]
    _, quant, batch, impl = name.split("-")
    l = load(os.path.join(out, name + ".load"))
    if l is not None:
        loads.append(l)
    text = open(path).read().strip()
    if not text:
        continue
    if impl == "halyard":
        j = json.loads(text.splitlines()[-1])
        add((quant, batch, "Halyard", "prefill"), j["prefill_tokens_per_s_all"])
        add((quant, batch, "Halyard", "decode"), j["decode_tokens_per_s_all"])
    elif batch == "b1":
        for e in json.loads(text):
            BYTES[(quant, "llama.cpp")] = e["model_size"]
            if e["n_prompt"] > 0 and e["n_gen"] == 0:
                add((quant, batch, "llama.cpp", "prefill"), e["samples_ts"])
            elif e["n_gen"] > 0 and e["n_prompt"] == 0:
                add((quant, batch, "llama.cpp", "decode"), e["samples_ts"])
    else:
        for line in text.splitlines():
            e = json.loads(line)
            add((quant, batch, "llama.cpp", "prefill"), [e["speed_pp"]])
            add((quant, batch, "llama.cpp", "decode"), [e["speed_tg"]])


def med(key):
    v = samples.get(key)
    return statistics.median(v) if v else None


bw = statistics.median(bandwidth) if bandwidth else None
print(f"memory read bandwidth (median of {len(bandwidth)}): {bw:.1f} GB/s" if bw else "no bandwidth figure")
print(f"load average before the runs: {min(loads):.2f} .. {max(loads):.2f}, median {statistics.median(loads):.2f}"
      if loads else "")
print()
print("| weights | batch | | prefill tokens/s | decode tokens/s | decode GB/s (share of bandwidth) |")
print("|---|---|---|---|---|---|")
for quant in ("f32", "q8_0", "q4_0"):
    for batch in ("b1", "b8"):
        for impl in ("llama.cpp", "Halyard"):
            p = med((quant, batch, impl, "prefill"))
            d = med((quant, batch, impl, "decode"))
            if p is None and d is None:
                continue
            per_token = BYTES.get((quant, impl), halyard_bytes(quant)) if impl == "llama.cpp" \
                else halyard_bytes(quant)
            steps = d / (8 if batch == "b8" else 1) if d else None
            gbs = steps * per_token / 1e9 if steps else None
            share = f" ({100 * gbs / bw:.0f}%)" if gbs and bw else ""
            print(f"| {quant.upper()} | {batch[1:]} | {impl} | {p:.0f} | {d:.0f} | "
                  f"{gbs:.1f}{share} |" if p and d else f"| {quant} | {batch} | {impl} | {p} | {d} | |")
        r_p = med((quant, batch, "Halyard", "prefill"))
        l_p = med((quant, batch, "llama.cpp", "prefill"))
        r_d = med((quant, batch, "Halyard", "decode"))
        l_d = med((quant, batch, "llama.cpp", "decode"))
        if r_p and l_p and r_d and l_d:
            print(f"| | | Halyard / llama.cpp | {r_p / l_p:.2f} | {r_d / l_d:.2f} | |")
