#!/usr/bin/env python3
"""The peer of `stp prune --init`: what a user would otherwise do with a trained CIFAR ResNet.
Torch-Pruning 1.6 prunes it to a MACs budget, then SGD fine-tunes it for E epochs. Issue 11
compares it with stp, which prunes without fine-tuning.

  bench/prune_peer.py --model ../shared/models/cifar-resnet/resnet20-12fca82f.th \
      --data ../shared/data/cifar10 --budget 50,70,85 --epochs 10 --lr 0.01 \
      --criterion l1,group --out /work/exp/peer-r20 [--threads 2] [--seed 0]

Prints one JSON line per (criterion, budget) and writes OUT/CRITERION-BUDGETpct/{model.pt,
model.onnx, result.json}.

What it does, and why:
- The network is the CIFAR ResNet of the checkpoint (akamaster's key names, option A
  zero-padding shortcuts; depth from the keys), normalised with ImageNet's mean and std as the
  checkpoint's README states.
- Torch-Pruning's dependency graph cannot follow the option A shortcut (zero padding of a
  strided slice): pruning across the residual path breaks the forward pass. So only the inner
  channels of each block are pruned (conv1's outputs, bn1, conv2's inputs): the stem, every
  conv2's outputs and the classifier are ignored layers. That is the space stp's l1-filter
  baseline prunes in; stp's own space is that plus removing whole blocks (depth).
- Criteria (both Torch-Pruning importances, p = 1 magnitude):
    l1     MagnitudeImportance(p=1, group_reduction="first"): the L1 norm of each conv1 filter
           (Li et al.'s L1-filter criterion), the same ratio in every block (local pruning).
    group  GroupMagnitudeImportance(p=1): the L1 norm over the whole dependency group
           (conv1's filter, bn1's scale and shift, conv2's input slice) normalised per group,
           ranked globally across blocks (DepGraph's recommended use), at most 90% of a
           layer's channels removed.
- Progressive pruning to the budget (Torch-Pruning's own benchmark recipe): 400 small steps
  until the MACs are at most (1 - budget) of the unpruned network's.
- MACs: multiply-accumulates of Conv2d and Linear layers (the convention of stp and of the
  40.55M / 125.49M literature figures), counted with forward hooks.
- Data: the first 48,976 CIFAR-10 training images (stp prune holds the last 1,024 out for its
  search, so both train on the same images), the 10,000 test images for accuracy. Fine-tuning
  uses stp's recipe: batch 128, random 4-pixel-padded crop + horizontal flip, SGD momentum 0.9,
  weight decay 5e-4 (not on BN and biases, as stp), cosine learning rate from --lr to 0 over the
  E epochs, per step.
- Accuracy is reported after pruning (0 epochs, BN statistics as pruned), after pruning with BN
  statistics recalibrated on 2,000 augmented training images (what stp does to every extracted
  network, so the no-fine-tuning comparison is like for like), and after each fine-tuning epoch.
"""
import argparse
import copy
import json
import math
import os
import sys
import time
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

try:
    import torch_pruning as tp
except ImportError:
    sys.exit("prune_peer.py needs Torch-Pruning: pip install torch-pruning==1.6.*")

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
HELD_OUT = 1024


# ---- the network (akamaster/pytorch_resnet_cifar10's key names) --------------------------------

class PadShortcut(nn.Module):
    """Option A: every second pixel, planes/4 zero channels before and after."""

    def __init__(self, pad):
        super().__init__()
        self.pad = pad

    def forward(self, x):
        return F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad), "constant", 0.0)


class BasicBlock(nn.Module):
    def __init__(self, in_planes, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = PadShortcut((planes - in_planes) // 2)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class CifarResNet(nn.Module):
    def __init__(self, n, classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        in_planes = 16
        for s, planes in enumerate((16, 32, 64)):
            blocks = []
            for i in range(n):
                blocks.append(BasicBlock(in_planes, planes, 2 if s > 0 and i == 0 else 1))
                in_planes = planes
            setattr(self, f"layer{s + 1}", nn.Sequential(*blocks))
        self.linear = nn.Linear(64, classes)

    def blocks(self):
        return [b for layer in (self.layer1, self.layer2, self.layer3) for b in layer]

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        return self.linear(F.adaptive_avg_pool2d(out, 1).flatten(1))


def load_trained(path):
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    state = ckpt.get("state_dict", ckpt) if isinstance(ckpt, dict) else ckpt
    state = {k[len("module."):] if k.startswith("module.") else k: v for k, v in state.items()}
    n = 1 + max(int(k.split(".")[1]) for k in state if k.startswith("layer1."))
    model = CifarResNet(n, classes=state["linear.weight"].shape[0])
    model.load_state_dict(state)
    return model, f"resnet{6 * n + 2}"


def count_macs(model):
    macs = [0]

    def conv(m, inp, out):
        macs[0] += out.numel() // out.shape[0] * m.kernel_size[0] * m.kernel_size[1] * (m.in_channels // m.groups)

    def lin(m, inp, out):
        macs[0] += m.in_features * m.out_features

    hooks = [m.register_forward_hook(conv) for m in model.modules() if isinstance(m, nn.Conv2d)]
    hooks += [m.register_forward_hook(lin) for m in model.modules() if isinstance(m, nn.Linear)]
    was = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 3, 32, 32))
    model.train(was)
    for h in hooks:
        h.remove()
    return macs[0]


def count_params(model):
    return sum(p.numel() for p in model.parameters())


# ---- data ----------------------------------------------------------------------------------------

def read_cifar(paths):
    raw = np.concatenate([np.fromfile(p, dtype=np.uint8).reshape(-1, 3073) for p in paths])
    return raw[:, 1:].reshape(-1, 3, 32, 32), raw[:, 0].astype(np.int64)


class Data:
    def __init__(self, root):
        x, y = read_cifar([os.path.join(root, f"data_batch_{i}.bin") for i in range(1, 6)])
        self.train_x, self.train_y = x[:-HELD_OUT], y[:-HELD_OUT]
        self.test_x, self.test_y = read_cifar([os.path.join(root, "test_batch.bin")])
        self.mean = torch.tensor(MEAN).view(1, 3, 1, 1)
        self.std = torch.tensor(STD).view(1, 3, 1, 1)

    def normalise(self, u8):
        return (torch.from_numpy(u8).float() / 255 - self.mean) / self.std

    def augmented(self, idx, rng):
        """Random crop of the image padded with 4 black pixels + horizontal flip (stp's and
        torchvision's RandomCrop(32, padding=4) + RandomHorizontalFlip)."""
        x = self.normalise(np.pad(self.train_x[idx], ((0, 0), (0, 0), (4, 4), (4, 4))))
        n = len(idx)
        dy, dx = rng.integers(0, 9, n), rng.integers(0, 9, n)
        flip = rng.random(n) < 0.5
        out = torch.empty(n, 3, 32, 32)
        for i in range(n):
            crop = x[i, :, dy[i]:dy[i] + 32, dx[i]:dx[i] + 32]
            out[i] = crop.flip(2) if flip[i] else crop
        return out


def evaluate(model, data, batch=500):
    model.eval()
    correct = 0
    with torch.no_grad():
        for s in range(0, len(data.test_y), batch):
            x = data.normalise(data.test_x[s:s + batch]).contiguous(memory_format=torch.channels_last)
            correct += (model(x).argmax(1).numpy() == data.test_y[s:s + batch]).sum()
    return float(correct) / len(data.test_y)


def recalibrate_bn(model, data, images=2000, batch=128, seed=0xB47C4A11):
    """Cumulative BN statistics over `images` augmented training images (stp's recalibration)."""
    rng = np.random.default_rng(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None  # cumulative average
    model.train()
    with torch.no_grad():
        for s in range(0, images, batch):
            idx = np.arange(s, min(images, s + batch))
            model(data.augmented(idx, rng).contiguous(memory_format=torch.channels_last))
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = 0.1


# ---- pruning -------------------------------------------------------------------------------------

def prune(model, criterion, target_macs):
    example = torch.zeros(1, 3, 32, 32)
    ignored = [model.conv1, model.linear] + [b.conv2 for b in model.blocks()]
    if criterion == "l1":
        importance = tp.importance.MagnitudeImportance(p=1, group_reduction="first", normalizer=None)
        glob, cap = False, 1.0
    elif criterion == "group":
        importance = tp.importance.GroupMagnitudeImportance(p=1)
        glob, cap = True, 0.9
    else:
        raise SystemExit(f"unknown criterion {criterion!r}: expected l1 or group")
    pruner = tp.pruner.MetaPruner(model, example, importance=importance, global_pruning=glob,
                                  pruning_ratio=1.0, max_pruning_ratio=cap, iterative_steps=400,
                                  ignored_layers=ignored)
    model.eval()
    steps = 0
    while count_macs(model) > target_macs:
        if steps == 400:
            raise SystemExit(f"{criterion}: cannot reach {target_macs} MACs by pruning inner channels")
        pruner.step()
        steps += 1
    return steps


# ---- fine-tuning ---------------------------------------------------------------------------------

def fine_tune(model, data, epochs, lr, seed, log):
    decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    no_decay = [p for n, p in model.named_parameters() if p.ndim <= 1]
    opt = torch.optim.SGD([{"params": decay, "weight_decay": 5e-4}, {"params": no_decay, "weight_decay": 0}],
                          lr=lr, momentum=0.9)
    n = len(data.train_y)
    steps_per_epoch = n // 128
    total = epochs * steps_per_epoch
    rng = np.random.default_rng(seed)
    step = 0
    history = []
    for epoch in range(epochs):
        model.train()
        order = rng.permutation(n)
        t0 = time.time()
        for b in range(steps_per_epoch):
            idx = order[b * 128:(b + 1) * 128]
            x = data.augmented(idx, rng).contiguous(memory_format=torch.channels_last)
            y = torch.from_numpy(data.train_y[idx])
            for g in opt.param_groups:
                g["lr"] = 0.5 * lr * (1 + math.cos(math.pi * step / total))
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
        acc = evaluate(model, data)
        history.append({"epoch": epoch + 1, "top1": acc, "seconds": time.time() - t0})
        log(f"  epoch {epoch + 1}/{epochs}: top-1 {100 * acc:.2f}% ({time.time() - t0:.0f} s)")
    return history


def widths(model):
    return [b.conv1.out_channels for b in model.blocks()]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="trained PyTorch checkpoint (akamaster CIFAR ResNet)")
    ap.add_argument("--data", required=True, help="CIFAR-10 binary directory")
    ap.add_argument("--budget", default="50,70,85", help="percent of MACs removed, comma-separated")
    ap.add_argument("--criterion", default="l1,group", help="l1, group (comma-separated)")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    def log(text):
        print(text, file=sys.stderr, flush=True)

    data = Data(args.data)
    base, name = load_trained(args.model)
    full_macs, full_params = count_macs(base), count_params(base)
    full_top1 = evaluate(base.to(memory_format=torch.channels_last), data)
    log(f"{name}: {full_macs} MACs, {full_params} params, top-1 {100 * full_top1:.2f}%")
    for criterion in args.criterion.split(","):
        for budget in [float(b) for b in args.budget.split(",")]:
            t0 = time.time()
            model, _ = load_trained(args.model)
            target = int(full_macs * (1 - budget / 100))
            steps = prune(model, criterion, target)
            model = model.to(memory_format=torch.channels_last)
            macs, params = count_macs(model), count_params(model)
            pruned_top1 = evaluate(model, data)
            recal = copy.deepcopy(model)
            recalibrate_bn(recal, data)
            recal_top1 = evaluate(recal, data)
            log(f"{criterion} {budget:g}%: {macs} MACs ({100 * (1 - macs / full_macs):.1f}% removed), "
                f"{params} params, widths {widths(model)}; top-1 pruned {100 * pruned_top1:.2f}%, "
                f"BN recalibrated {100 * recal_top1:.2f}%")
            history = fine_tune(model, data, args.epochs, args.lr, args.seed, log) if args.epochs > 0 else []
            out = os.path.join(args.out, f"{criterion}-{budget:g}pct")
            os.makedirs(out, exist_ok=True)
            model.eval()
            torch.save(model, os.path.join(out, "model.pt"))
            with warnings.catch_warnings():  # the exporter's notes on the shortcut's strided slice
                warnings.simplefilter("ignore")
                torch.onnx.export(model.to(memory_format=torch.contiguous_format), torch.zeros(1, 3, 32, 32),
                                  os.path.join(out, "model.onnx"), input_names=["input"], output_names=["logits"],
                                  dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, dynamo=False)
            result = {
                "peer": "torch-pruning " + getattr(tp, "__version__", "?"), "model": name, "criterion": criterion,
                "budget_removed_pct": budget, "target_macs": target, "macs": macs, "params": params,
                "full_macs": full_macs, "full_params": full_params, "full_top1": full_top1,
                "inner_widths": widths(model), "pruning_steps": steps,
                "top1_pruned": pruned_top1, "top1_pruned_bn_recalibrated": recal_top1,
                "epochs": args.epochs, "lr": args.lr, "seed": args.seed,
                "top1_fine_tuned": history[-1]["top1"] if history else None,
                "history": history, "seconds": time.time() - t0, "threads": args.threads,
            }
            with open(os.path.join(out, "result.json"), "w") as f:
                json.dump(result, f, indent=1)
            print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
