"""Selection quality off the calibration set: auto's pick against the fastest candidate.

    python benchmarks/selection.py [--layers 22] [--seed 2026] [--out PATH]

A held-out set of random, realistic layers (1-D, 2-D and 3-D; float32 and float64;
strides, groups, depthwise, transposed; `jconv.calibrate.random_layers`), drawn with a
seed of its own and none in the calibration's `training_set`; each layer gives three
passes (the forward pass and both gradients), each planned as auto plans it. Every
candidate auto considers (supported and within the workspace limit, skipping those
estimated more than `SKIP_FACTOR` times the best estimate) is compiled and timed on
random data, the candidates called in turn (`jconv._bench.interleaved`: 7-31 calls each
after a warm-up, the median), and auto's pick is compared with the fastest: the ratio of
their times. Printed and written as a table: hits within 1.2x, passes over 2x, the worst
ratio; then, per algorithm and pass, how far the calibrated estimates are from the
measured times (the geometric mean and range of measured / estimated), which says which
model to mend first.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)
ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from jconv import _select  # noqa: E402
from jconv._bench import interleaved  # noqa: E402
from jconv._spec import conv_layer, conv_transpose_layer  # noqa: E402
from jconv.calibrate import (  # noqa: E402
    CALLS,  # the calibration's own timing: these estimates are judged as they were fitted
    compiled_call,
    random_layers,
    training_set,
)

SKIP_FACTOR = 30.0


def held_out(count: int, seed: int):
    """``count`` random layers the calibration never sees: (label, role, spec) per pass."""
    passes = []
    for kind, xs, ws, kw, dtype in random_layers(count, seed, training_set()):
        build = conv_transpose_layer if kind == "conv_transpose" else conv_layer
        spec = build("selection", xs, ws, dtype, **kw).spec
        label = f"{kind} x{xs} w{ws} {kw} {dtype}"
        for role, s in (("forward", spec), ("input_grad", spec.input_grad()),
                        ("kernel_grad", spec.kernel_grad())):
            passes.append((f"{label} {role}", role, s))
    return passes


def runner(choice, spec):
    """A call of ``choice``'s compiled computation on random operands of ``spec``."""
    return compiled_call(lambda a, b: choice.run(a, b, None), spec)


def estimate_errors(rows) -> list[str]:
    """Markdown rows: per algorithm and pass, the timings and their measured / estimated
    ratios (geometric mean, least, most)."""
    ratios: dict[tuple[str, str], list[float]] = {}
    for r in rows:
        for name, t in r["times"].items():
            ratios.setdefault((name, r["role"]), []).append(t / r["estimates"][name])
    out = ["| algorithm | pass | timings | measured / estimated: geometric mean | least | most |",
           "|---|---|---|---|---|---|"]
    for (name, role), v in sorted(ratios.items()):
        geo = math.exp(statistics.mean(math.log(x) for x in v))
        out.append(f"| {name} | {role} | {len(v)} | {geo:.2f} | {min(v):.2f} | {max(v):.2f} |")
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--layers", type=int, default=22)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "selection.md")
    args = parser.parse_args(argv)
    passes = held_out(args.layers, args.seed)
    planner = _select._planner(_select.default_platform())
    rows = []
    for i, (label, role, spec) in enumerate(passes):
        eligible = planner.eligible(spec)
        best_est = min(c.seconds for c in eligible)
        runners = {c.name: runner(planner.forced(c.name, spec), spec) for c in eligible
                   if c.seconds <= SKIP_FACTOR * best_est}
        timed = {name: t["median"] for name, t in
                 interleaved(runners, *CALLS).items()}
        pick = planner.auto(spec).name
        fastest = min(timed, key=timed.get)
        ratio = timed[pick] / timed[fastest]
        estimates = {c.name: c.seconds for c in eligible if c.name in timed}
        rows.append(dict(label=label, role=role, pick=pick,
                         fastest=fastest, ratio=ratio, times=timed, estimates=estimates))
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
    errors = estimate_errors(rows)
    print("\n".join(errors))
    lines += ["", "## Estimates against measured times", ""] + errors
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    args.out.with_suffix(".json").write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
