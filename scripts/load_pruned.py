#!/usr/bin/env python3
"""Load a network pruned by stp into PyTorch, without stp.

An extracted network's directory (stp prune's OUTPUT/METHOD-BUDGET/extracted, or an explorer
export) holds `architecture.json` (the network's shape: stages, kept blocks, kept inner widths,
shortcut kind, classes, input normalisation) and `pytorch.safetensors` (its weights and batch-norm
statistics under the key names of the network the user brought: the CIFAR ResNet code bases'
`layerS.I.*` + `linear`, torchvision's `layerS.I.*` + `downsample` + `fc`, or stp's `blocks.N.*`).
This script builds the matching `torch.nn.Module` and loads the weights strictly (every key used,
every shape equal).

As a library:
    from load_pruned import load_pruned
    model, info = load_pruned("runs/prune/stp-50pct/extracted")   # eval mode
    logits = model(images_nchw_normalised)
    info["normalization"]  # {"mean": [...], "std": [...]} for pixels scaled to 0..1

From the command line:
    python3 scripts/load_pruned.py DIR                      prints the architecture and parameter count
    python3 scripts/load_pruned.py DIR --input X.npy --expect-logits Y.npy [--tolerance 1e-4]
        runs the model on X (float32 NCHW, already normalised) and compares with Y (exit 1 if off)

Needs torch (and numpy for --input); reads safetensors itself, so the safetensors package is optional.
"""
import argparse
import json
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

DTYPES = {"F32": torch.float32, "F64": torch.float64, "F16": torch.float16, "BF16": torch.bfloat16,
          "I64": torch.int64, "I32": torch.int32, "U8": torch.uint8}


def read_safetensors(path):
    """The tensors of a safetensors file as a dict (the format: 8-byte header length, JSON header, data)."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    data = memoryview(blob)[8 + n:]
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        raw = bytearray(data[begin:end])
        t = torch.frombuffer(raw, dtype=DTYPES[entry["dtype"]]) if raw else torch.empty(0, dtype=DTYPES[entry["dtype"]])
        tensors[name] = t.reshape(entry["shape"]).clone()
    return tensors


class ZeroPadShortcut(nn.Module):
    """Option A: every `stride`-th pixel, channels padded with zeros on both sides (low = (out-in)//2)."""

    def __init__(self, in_channels, out_channels, stride):
        super().__init__()
        self.stride = stride
        self.low = (out_channels - in_channels) // 2
        self.high = out_channels - in_channels - self.low

    def forward(self, x):
        x = x[:, :, ::self.stride, ::self.stride]
        return F.pad(x, (0, 0, 0, 0, self.low, self.high))


class Projection(nn.Module):
    """Option B under stp's names (shortcut.conv, shortcut.bn)."""

    def __init__(self, in_channels, out_channels, stride):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 1, stride, 0, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)

    def forward(self, x):
        return self.bn(self.conv(x))


class Block(nn.Module):
    """A basic (3x3, 3x3) or bottleneck (1x1, 3x3 with the stride, 1x1) block of inner width `inner`."""

    def __init__(self, kind, in_width, inner, out_width, stride, shortcut, keys):
        super().__init__()
        if kind == "basic":
            shapes = [(in_width, inner, 3, stride), (inner, out_width, 3, 1)]
        else:
            shapes = [(in_width, inner, 1, 1), (inner, inner, 3, stride), (inner, out_width, 1, 1)]
        self.units = len(shapes)
        for i, (cin, cout, k, s) in enumerate(shapes, start=1):
            setattr(self, f"conv{i}", nn.Conv2d(cin, cout, k, s, k // 2, bias=False))
            setattr(self, f"bn{i}", nn.BatchNorm2d(cout))
        self.identity = stride == 1 and in_width == out_width
        if self.identity:
            self.short = None
        elif shortcut == "zero-pad":
            self.short = ZeroPadShortcut(in_width, out_width, stride)
        elif keys == "stp":
            self.shortcut = Projection(in_width, out_width, stride)
        else:
            projection = nn.Sequential(nn.Conv2d(in_width, out_width, 1, stride, 0, bias=False), nn.BatchNorm2d(out_width))
            setattr(self, "downsample" if keys == "torchvision" else "shortcut", projection)
        self.keys = keys

    def residual(self, x):
        if self.identity:
            return x
        for name in ("short", "shortcut", "downsample"):
            module = getattr(self, name, None)
            if module is not None:
                return module(x)
        raise RuntimeError("block without a shortcut")

    def forward(self, x):
        y = x
        for i in range(1, self.units + 1):
            y = getattr(self, f"bn{i}")(getattr(self, f"conv{i}")(y))
            if i < self.units:
                y = F.relu(y)
        return F.relu(y + self.residual(x))


class PrunedResNet(nn.Module):
    """The extracted network of `spec` (architecture.json's "spec") with the parameter names of `keys`."""

    def __init__(self, spec, keys):
        super().__init__()
        imagenet = spec["stem"] == "imagenet"
        k = 7 if imagenet else 3
        self.conv1 = nn.Conv2d(spec["inputChannels"], spec["stemWidth"], k, 2 if imagenet else 1, k // 2, bias=False)
        self.bn1 = nn.BatchNorm2d(spec["stemWidth"])
        self.pool = nn.MaxPool2d(3, 2, 1) if imagenet else None
        expansion = 4 if spec["block"] == "bottleneck" else 1
        counts = spec["blocksPerStage"]
        inner = spec.get("blockInnerWidths") or [p for p, n in zip(spec["stagePlanes"], counts) for _ in range(n)]
        width, b, stages = spec["stemWidth"], 0, []
        for s, n in enumerate(counts):
            out_width = spec["stagePlanes"][s] * expansion
            blocks = []
            for i in range(n):
                stride = 2 if (i == 0 and s > 0) else 1
                blocks.append(Block(spec["block"], width, inner[b], out_width, stride, spec["shortcut"], keys))
                width, b = out_width, b + 1
            stages.append(blocks)
        if keys == "stp":
            self.blocks = nn.Sequential(*[blk for stage in stages for blk in stage])
        else:
            for s, blocks in enumerate(stages, start=1):
                setattr(self, f"layer{s}", nn.Sequential(*blocks))
        self.stage_count = len(stages)
        self.keys = keys
        classifier = nn.Linear(width, spec["classes"])
        setattr(self, "linear" if keys == "cifar" else "fc", classifier)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        if self.pool is not None:
            x = self.pool(x)
        if self.keys == "stp":
            x = self.blocks(x)
        else:
            for s in range(1, self.stage_count + 1):
                x = getattr(self, f"layer{s}")(x)
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return (self.linear if self.keys == "cifar" else self.fc)(x)


def load_pruned(directory):
    """The pruned network in `directory` (eval mode) and its architecture.json as a dict."""
    with open(os.path.join(directory, "architecture.json")) as f:
        info = json.load(f)
    keys = info.get("pytorchKeys") or "stp"
    model = PrunedResNet(info["spec"], keys)
    state = read_safetensors(os.path.join(directory, "pytorch.safetensors"))
    for module in model.modules():
        # stp's batch norm has no update counter; PyTorch's starts from 0 when the key is absent.
        if isinstance(module, nn.BatchNorm2d):
            module.eps = 1e-5
    model.load_state_dict(state, strict=False)
    expected = {k for k in model.state_dict() if not k.endswith("num_batches_tracked")}
    missing, unexpected = sorted(expected - set(state)), sorted(set(state) - expected)
    if missing or unexpected:
        raise RuntimeError(f"{directory}: pytorch.safetensors does not match the architecture: "
                           f"missing {missing[:8]}, unexpected {unexpected[:8]}")
    model.eval()
    return model, info


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("directory")
    parser.add_argument("--input", help="float32 NCHW .npy batch, already normalised")
    parser.add_argument("--expect-logits", help="float32 .npy logits to compare with")
    parser.add_argument("--tolerance", type=float, default=1e-4, help="max |difference| relative to max |logit|")
    args = parser.parse_args()
    model, info = load_pruned(args.directory)
    params = sum(p.numel() for p in model.parameters())
    print(f"{info['spec']['name']}: {info.get('architectureText', '')}, {params} parameters, "
          f"{info['pytorchKeys'] if 'pytorchKeys' in info else 'stp'} key names")
    if args.input:
        import numpy as np
        x = torch.from_numpy(np.load(args.input))
        with torch.no_grad():
            logits = model(x).numpy()
        if args.expect_logits:
            expected = np.load(args.expect_logits)
            scale = max(float(np.abs(expected).max()), 1e-6)
            diff = float(np.abs(logits - expected).max())
            print(f"max |PyTorch - stp| = {diff:.3g} (relative {diff / scale:.3g}, tolerance {args.tolerance:g})")
            if diff / scale > args.tolerance:
                sys.exit(1)
        else:
            print(logits)


if __name__ == "__main__":
    main()
