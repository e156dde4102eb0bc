#!/usr/bin/env python3
"""Check an ONNX model exported by stp against the logits stp computed.

usage: scripts/check_onnx.py MODEL.onnx INPUT.npy EXPECTED.npy [--tolerance 1e-4]

  MODEL.onnx    written by `stp export --onnx MODEL.onnx RUN_DIR`
  INPUT.npy     float32 NCHW [N, C, H, W], fed to the model's input "input"
  EXPECTED.npy  float32 [N, classes], the logits stp computed for INPUT in eval mode

`stp export --check` writes MODEL.check-input.npy and MODEL.check-logits.npy and runs this script.

It runs onnx.checker.check_model (with full shape inference), then onnxruntime on the CPU, and
compares the logits. It prints the largest absolute error and the relative error, which is the
largest absolute error divided by the largest |expected logit| (so logits near zero do not make
it meaningless), and fails when the relative error exceeds the tolerance (default 1e-4).

Exit status: 0 when the model checks and matches; 1 on a mismatch or an invalid model; 2 on bad
arguments or files, or when onnx/onnxruntime are missing and required. When onnxruntime cannot be
imported it prints "skipped: ..." and exits 0, unless the environment variable STP_REQUIRE_ONNX is
set (to anything), in which case that is an error. Install with: pip install onnx onnxruntime
"""

import argparse
import os
import sys


def fail(status, message):
    print(f"check_onnx: error: {message}", file=sys.stderr)
    sys.exit(status)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="the .onnx file")
    parser.add_argument("input", help="float32 .npy input batch, NCHW")
    parser.add_argument("expected", help="float32 .npy logits stp computed, [N, classes]")
    parser.add_argument("--tolerance", type=float, default=1e-4,
                        help="largest allowed relative error (default 1e-4)")
    args = parser.parse_args()
    required = os.environ.get("STP_REQUIRE_ONNX") is not None

    try:
        import onnxruntime
    except Exception as error:  # ImportError, or a broken install raising something else
        if required:
            fail(2, f"cannot import onnxruntime ({error}) and STP_REQUIRE_ONNX is set; "
                    "install it with: pip install onnx onnxruntime")
        print(f"skipped: onnxruntime cannot be imported ({error}); {args.model} was not checked. "
              "Install it with 'pip install onnx onnxruntime', or set STP_REQUIRE_ONNX=1 to make this an error.")
        return 0
    try:
        import numpy as np
        import onnx
    except Exception as error:
        fail(2, f"onnxruntime is installed but cannot import {error.name if hasattr(error, 'name') else error} "
                f"({error}); install it with: pip install onnx numpy")

    for path in (args.model, args.input, args.expected):
        if not os.path.isfile(path):
            fail(2, f"{path}: no such file")
    try:
        x = np.load(args.input)
        expected = np.load(args.expected)
    except Exception as error:
        fail(2, f"cannot read the .npy files: {error}")
    if x.dtype != np.float32 or x.ndim != 4:
        fail(2, f"{args.input}: expected a float32 NCHW array, found {x.dtype} with shape {list(x.shape)}")
    if expected.dtype != np.float32 or expected.ndim != 2 or expected.shape[0] != x.shape[0]:
        fail(2, f"{args.expected}: expected float32 logits [{x.shape[0]}, classes], "
                f"found {expected.dtype} with shape {list(expected.shape)}")

    try:
        model = onnx.load(args.model)
        onnx.checker.check_model(model, full_check=True)
    except Exception as error:
        print(f"check_onnx: FAIL: onnx.checker rejects {args.model}: {error}", file=sys.stderr)
        return 1
    opsets = ", ".join(f"{o.domain or 'ai.onnx'} {o.version}" for o in model.opset_import)
    print(f"onnx.checker: ok ({args.model}: IR version {model.ir_version}, opset {opsets}, "
          f"{len(model.graph.node)} nodes, {len(model.graph.initializer)} initializers)")

    try:
        session = onnxruntime.InferenceSession(args.model, providers=["CPUExecutionProvider"])
        inputs = [i.name for i in session.get_inputs()]
        outputs = [o.name for o in session.get_outputs()]
        if inputs != ["input"] or outputs != ["logits"]:
            print(f"check_onnx: FAIL: expected input ['input'] and output ['logits'], found {inputs} and {outputs}",
                  file=sys.stderr)
            return 1
        (actual,) = session.run(["logits"], {"input": x})
    except Exception as error:
        print(f"check_onnx: FAIL: onnxruntime cannot run {args.model}: {error}", file=sys.stderr)
        return 1

    if actual.shape != expected.shape:
        print(f"check_onnx: FAIL: onnxruntime gives logits of shape {list(actual.shape)}, stp {list(expected.shape)}",
              file=sys.stderr)
        return 1
    if not np.all(np.isfinite(actual)) or not np.all(np.isfinite(expected)):
        print("check_onnx: FAIL: non-finite logits (onnxruntime finite: "
              f"{bool(np.all(np.isfinite(actual)))}, stp finite: {bool(np.all(np.isfinite(expected)))})", file=sys.stderr)
        return 1
    difference = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
    max_abs = float(difference.max())
    scale = float(np.abs(expected).max())
    max_rel = max_abs / scale if scale > 0 else (0.0 if max_abs == 0 else float("inf"))
    agree = int((actual.argmax(axis=1) == expected.argmax(axis=1)).sum())
    print(f"onnxruntime {onnxruntime.__version__}: logits {list(actual.shape)}; max abs error {max_abs:.3e}, "
          f"relative error {max_rel:.3e} (of max |logit| {scale:.4g}; tolerance {args.tolerance:g}); "
          f"top-1 agrees on {agree}/{actual.shape[0]}")
    if not max_rel <= args.tolerance:
        print(f"check_onnx: FAIL: relative error {max_rel:.3e} exceeds {args.tolerance:g}", file=sys.stderr)
        return 1
    print("check_onnx: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
