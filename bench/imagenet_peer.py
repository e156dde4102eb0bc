#!/usr/bin/env python3
"""The peers of `stp bench --model resnet18|resnet50` at 224x224 (issue 12): torchvision's
ResNet-18 / ResNet-50 (10 classes, as stp's default, so the networks have the same 11,181,642 /
23,528,522 parameters and the same MACs) in PyTorch and in onnxruntime, on random inputs.

  bench/imagenet_peer.py --model resnet50 --engine torch --mode infer --batch 16 [--channels-last]
  bench/imagenet_peer.py --model resnet50 --engine torch --mode train --batch 32
  bench/imagenet_peer.py --model resnet50 --engine ort --mode latency          # batch 1

Prints one JSON line: img_per_s_median (and min/max), latency_ms_median (milliseconds per
batch), peak_rss_mib. One configuration per process, so that the peak RSS is its own. Threads:
--threads (default 2) for PyTorch's intra-op pool and onnxruntime's intra-op threads. The ONNX
file is exported once into --onnx-dir (opset 17, fixed batch) and reused.
"""
import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time


def rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def summarize(times, batch):
    times = sorted(times)
    med = statistics.median(times)
    return {"iters": len(times), "img_per_s_median": batch / med, "img_per_s_min": batch / times[-1],
            "img_per_s_max": batch / times[0], "latency_ms_median": med * 1000}


def build(name):
    import torchvision
    return getattr(torchvision.models, name)(num_classes=10)


def run_torch(a):
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = build(a.model)
    x = torch.randn(a.batch, 3, a.size, a.size)
    y = torch.randint(0, 10, (a.batch,))
    if a.channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    if a.mode == "train":
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)

        def step():
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), y).backward()
            opt.step()
    else:
        model.eval()

        def step():
            with torch.no_grad():
                model(x)
    for _ in range(a.warmup):
        step()
    times = []
    for _ in range(a.iters):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return times


def run_ort(a):
    import numpy as np
    import onnxruntime as ort
    path = os.path.join(a.onnx_dir, f"{a.model}_{a.size}_b{a.batch}.onnx")
    if not os.path.exists(path):
        import torch
        os.makedirs(a.onnx_dir, exist_ok=True)
        model = build(a.model).eval()
        tmp = path + ".tmp"
        torch.onnx.export(model, torch.randn(a.batch, 3, a.size, a.size), tmp, opset_version=17,
                          input_names=["input"], output_names=["logits"], dynamo=False)
        os.replace(tmp, path)
    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((a.batch, 3, a.size, a.size), dtype=np.float32)
    for _ in range(a.warmup):
        sess.run(None, {"input": x})
    times = []
    for _ in range(a.iters):
        t0 = time.perf_counter()
        sess.run(None, {"input": x})
        times.append(time.perf_counter() - t0)
    return times


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="resnet50", choices=["resnet18", "resnet50"])
    ap.add_argument("--engine", default="torch", choices=["torch", "ort"])
    ap.add_argument("--mode", default="infer", choices=["infer", "latency", "train"])
    ap.add_argument("--batch", type=int)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--onnx-dir", default=os.path.join(tempfile.gettempdir(), "peer_onnx_imagenet"))
    a = ap.parse_args()
    if a.batch is None:
        a.batch = {"infer": 16, "latency": 1, "train": 32}[a.mode]
    if a.engine == "ort" and a.mode == "train":
        sys.exit("onnxruntime does not train here")
    times = (run_torch if a.engine == "torch" else run_ort)(a)
    out = {"model": a.model, "engine": a.engine, "mode": a.mode, "batch": a.batch, "size": a.size,
           "threads": a.threads, "channels_last": a.channels_last, **summarize(times, a.batch), "peak_rss_mib": rss_mib()}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
