"""Selection quality off the calibration set: auto's pick against the fastest candidate.

    python benchmarks/selection.py [--layers 22] [--seed 2026] [--out PATH]

A held-out set of random, realistic layers (1-D, 2-D and 3-D; float32 and float64;
strides, groups, depthwise, transposed), drawn with a fixed seed and never used by the
calibration (`jconv.calibrate.CALIBRATION_SET`); each layer gives three passes (the
forward pass and both gradients), each planned as auto plans it. Every candidate auto
considers (supported and within the workspace limit, skipping those estimated more than
`SKIP_FACTOR` times the best estimate) is compiled and timed on random data (median of
`CALLS` calls after a warm-up), and auto's pick is compared with the fastest: the ratio
of their times. Printed and written as a table: hits within 1.2x, passes over 2x, the
worst ratio.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)
ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from jconv import _select  # noqa: E402
from jconv._spec import conv_layer, conv_transpose_layer  # noqa: E402
from jconv.calibrate import CALIBRATION_SET  # noqa: E402

SKIP_FACTOR = 30.0
CALLS = 5
MACS = (2e6, 4e8)  # multiply-adds per forward pass: small layers to large ones


def _draw_layer(rng):
    """One random layer: (kind, x shape, w shape, keywords, dtype), or None if unrealistic."""
    nd = int(rng.choice([1, 2, 2, 2, 3]))
    dtype = "float64" if rng.random() < 0.2 else "float32"
    transpose = rng.random() < 0.2
    c = int(rng.choice([8, 16, 32, 64, 128, 256]))
    style = rng.choice(["dense", "dense", "grouped", "depthwise"])
    groups = {"dense": 1, "grouped": int(rng.choice([2, 4, 8, 32])), "depthwise": c}[style]
    if c % groups:
        return None
    co = c * int(rng.choice([1, 2])) if not transpose else c // int(rng.choice([1, 2]))
    if co % groups or co == 0:
        return None
    k = int(rng.choice({1: [3, 5, 9, 15, 31], 2: [1, 3, 3, 5, 7], 3: [1, 3, 3]}[nd]))
    stride = int(rng.choice([1, 1, 2]))
    size = int(rng.choice({1: [256, 1024, 4096], 2: [8, 14, 28, 56], 3: [8, 12, 16]}[nd]))
    batch = int(rng.choice([1, 2, 4, 8, 16]))
    x = (batch, c, *(size,) * nd)
    if transpose:
        if stride == 1 and k == 1:
            return None
        w = (c, co // groups, *(k,) * nd)
        kw = dict(stride=stride, padding=(k - 1) // 2, groups=groups)
        if stride > 1:
            kw["output_padding"] = 1 if k % 2 else 0
        kind = "conv_transpose"
    else:
        w = (co, c // groups, *(k,) * nd)
        kw = dict(stride=stride, padding=k // 2, groups=groups)
        kind = "conv"
    return kind, x, w, kw, dtype


def held_out(count: int, seed: int):
    """``count`` layers: (label, spec) for each of their three passes."""
    rng = np.random.default_rng(seed)
    seen = {(xs, ws) for _, xs, ws, _, _ in CALIBRATION_SET}
    passes = []
    layers = 0
    while layers < count:
        layer = _draw_layer(rng)
        if layer is None:
            continue
        kind, xs, ws, kw, dtype = layer
        if (xs, ws) in seen:
            continue
        build = conv_transpose_layer if kind == "conv_transpose" else conv_layer
        try:
            spec = build("selection", xs, ws, dtype, **kw).spec
        except ValueError:
            continue
        if not MACS[0] <= spec.macs <= MACS[1]:
            continue
        seen.add((xs, ws))
        layers += 1
        label = f"{kind} x{xs} w{ws} {kw} {dtype}"
        for role, s in (("forward", spec), ("input_grad", spec.input_grad()),
                        ("kernel_grad", spec.kernel_grad())):
            passes.append((f"{label} {role}", s))
    return passes


def time_choice(choice, spec) -> float:
    rng = np.random.default_rng(0)
    dtype = np.dtype(spec.dtype)
    x = jax.device_put(rng.standard_normal(spec.x_shape).astype(dtype))
    w = jax.device_put(rng.standard_normal(spec.w_shape).astype(dtype))
    f = jax.jit(lambda a, b: choice.run(a, b, None)).lower(x, w).compile()
    f(x, w).block_until_ready()
    runs = []
    for _ in range(CALLS):
        t0 = time.perf_counter()
        f(x, w).block_until_ready()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--layers", type=int, default=22)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "selection.md")
    args = parser.parse_args(argv)
    passes = held_out(args.layers, args.seed)
    planner = _select._planner(_select.default_platform())
    rows = []
    for i, (label, spec) in enumerate(passes):
        eligible = planner.eligible(spec)
        best_est = min(c.seconds for c in eligible)
        timed = {c.name: time_choice(planner.forced(c.name, spec), spec) for c in eligible
                 if c.seconds <= SKIP_FACTOR * best_est}
        pick = planner.auto(spec).name
        fastest = min(timed, key=timed.get)
        ratio = timed[pick] / timed[fastest]
        rows.append(dict(label=label, pick=pick, fastest=fastest, ratio=ratio,
                         times={k: v for k, v in timed.items()}))
        print(f"[{i + 1:>3}/{len(passes)}] {ratio:5.2f}x  auto {pick:9s} fastest "
              f"{fastest:9s} {timed[fastest] * 1e3:8.2f} ms  {label}", flush=True)
    ratios = [r["ratio"] for r in rows]
    hits = sum(r <= 1.2 for r in ratios)
    over = sum(r > 2.0 for r in ratios)
    geo = math.exp(statistics.mean(math.log(r) for r in ratios))
    summary = (f"{len(rows)} held-out passes ({args.layers} layers, seed {args.seed}): auto "
               f"within 1.2x of the fastest on {hits} ({100 * hits / len(rows):.0f}%), over "
               f"2x on {over}, worst {max(ratios):.2f}x, geometric mean {geo:.3f}x "
               f"({jax.devices()[0].device_kind}, {jax.__version__})")
    print(summary)
    lines = ["# Selection on held-out passes", "", summary, "",
             "| pass | auto | fastest | auto / fastest |", "|---|---|---|---|"]
    lines += [f"| {r['label']} | {r['pick']} | {r['fastest']} | {r['ratio']:.2f} |" for r in rows]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    args.out.with_suffix(".json").write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
