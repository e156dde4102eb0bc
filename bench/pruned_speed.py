#!/usr/bin/env python3
"""Inference speed of pruned networks, so that accuracy and speed are read together (issue 11).

  bench/pruned_speed.py [--stp .build/release/stp] [--threads 2] DIR ...

Each DIR is one of:
  - an `stp prune` result (OUTPUT/METHOD-BUDGET, holding report.json and extracted/), or an
    extracted network's directory itself;
  - a `bench/prune_peer.py` result (holding result.json and model.onnx).
For each network it measures, on random inputs:
  stp          `stp bench --mode infer --batch 128` and `--mode latency` (batch 1) on the
               network's architecture (`--arch`: the physically smaller network, widths as pruned);
               a Torch-Pruning network is an architecture of the same space (all blocks kept,
               inner widths as pruned), so stp runs it too;
  onnxruntime  the network's ONNX file (`stp export --onnx` for stp's, the peer's model.onnx),
               batch 128 and batch 1, `--threads` intra-op threads, sequential execution.
The unpruned networks are measured the same way with --baseline RUN,RUN (stp import outputs).
Prints one JSON line per network and a Markdown table on standard error. Medians; run it on an
otherwise idle machine (other workloads on the 2 cores move single runs by 10% or more).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np


def stp_bench(stp, model, arch, mode, threads):
    cmd = [stp, "bench", "--model", model, "--mode", mode, "--threads", str(threads)]
    if arch:
        cmd += ["--arch", arch]
    if mode == "infer":
        cmd += ["--batch", "128", "--iterations", "20"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
    r = json.loads(out)
    if mode == "infer":
        return r["images_per_second"]["median"]
    return r["milliseconds_per_batch"]["median"]


def ort_bench(path, batch, threads):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((batch, 3, 32, 32), dtype=np.float32)
    feed = {s.get_inputs()[0].name: x}
    warm, iters = (3, 20) if batch > 1 else (30, 300)
    for _ in range(warm):
        s.run(None, feed)
    ts = []
    for _ in range(iters):
        t0 = time.perf_counter()
        s.run(None, feed)
        ts.append(time.perf_counter() - t0)
    med = statistics.median(ts)
    return batch / med if batch > 1 else med * 1e3


def arch_of_widths(widths_per_block, blocks_per_stage):
    stages = [widths_per_block[i * blocks_per_stage:(i + 1) * blocks_per_stage] for i in range(3)]
    d = ",".join(str(len(s)) for s in stages)
    return f"d={d} w=" + "|".join(",".join(map(str, s)) for s in stages)


def describe(directory, stp, work):
    """(label, model, arch, onnx path, macs) of a result directory."""
    if os.path.exists(os.path.join(directory, "result.json")):  # the peer's
        r = json.load(open(os.path.join(directory, "result.json")))
        n = len(r["inner_widths"]) // 3
        label = f"{r['model']} torch-pruning {r['criterion']} {r['budget_removed_pct']:g}%"
        return label, r["model"], arch_of_widths(r["inner_widths"], n), os.path.join(directory, "model.onnx"), r["macs"]
    report = os.path.join(directory, "report.json")
    # An `stp prune` result holds its network in extracted/; a copied network (docs/results/*)
    # may hold it beside its report.
    extracted = os.path.join(directory, "extracted")
    if not os.path.isdir(extracted):
        extracted = directory
    if os.path.exists(report):
        r = json.load(open(report))
        label = f"{r['model']} {r['method']} {r['budget']}, {r['epochs']} epochs"
        model, arch, macs = r["model"], r["architecture"], r["macs"]
    else:
        a = json.load(open(os.path.join(extracted, "architecture.json")))
        label, model, arch, macs = directory, a["model"], a["architecture"], a.get("macs")
    # One file per directory: labels need not be unique.
    onnx = os.path.join(work, f"{len(os.listdir(work))}.onnx")
    subprocess.run([stp, "export", "--onnx", onnx, extracted], check=True, capture_output=True)
    return label, model, arch, onnx, macs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dirs", nargs="*")
    ap.add_argument("--stp", default=os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                                  ".build", "release", "stp"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--baseline", default="",
                    help="unpruned networks to measure too: run directories (stp import / stp train), comma-separated")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="pruned_speed_")
    rows = []
    targets = []
    for run in filter(None, args.baseline.split(",")):
        recorded = json.load(open(os.path.join(run, "run.json")))["model"]
        model, macs = recorded["name"], int(recorded["options"]["macs"])
        onnx = os.path.join(work, os.path.basename(os.path.normpath(run)) + ".onnx")
        subprocess.run([args.stp, "export", "--onnx", onnx, run], check=True, capture_output=True)
        targets.append((f"{model} unpruned", model, None, onnx, macs))
    for d in args.dirs:
        targets.append(describe(d, args.stp, work))
    for label, model, arch, onnx, macs in targets:
        row = {"network": label, "model": model, "arch": arch, "macs": macs, "threads": args.threads,
               "stp_img_per_s_b128": stp_bench(args.stp, model, arch, "infer", args.threads),
               "stp_latency_ms_b1": stp_bench(args.stp, model, arch, "latency", args.threads)}
        if onnx and os.path.exists(onnx):
            row["ort_img_per_s_b128"] = ort_bench(onnx, 128, args.threads)
            row["ort_latency_ms_b1"] = ort_bench(onnx, 1, args.threads)
        print(json.dumps(row), flush=True)
        rows.append(row)
    print("| network | MACs | stp img/s (b128) | stp ms (b1) | onnxruntime img/s (b128) | onnxruntime ms (b1) |",
          file=sys.stderr)
    print("|---|---|---|---|---|---|", file=sys.stderr)
    for r in rows:
        macs = f"{r['macs'] / 1e6:.2f}M" if r["macs"] else ""
        print(f"| {r['network']} | {macs} | {r['stp_img_per_s_b128']:.0f} | {r['stp_latency_ms_b1']:.2f} | "
              f"{r.get('ort_img_per_s_b128', float('nan')):.0f} | {r.get('ort_latency_ms_b1', float('nan')):.2f} |",
              file=sys.stderr)


if __name__ == "__main__":
    main()
