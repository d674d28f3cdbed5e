"""Per pass, per algorithm: measured time next to the cost model's estimate.

    python benchmarks/passes.py [--cases NAME ...] [--algorithms NAME ...]

For every benchmark case, the three canonical specs (forward, input gradient, kernel
gradient) are run with every supported algorithm (compiled once, then the median of a
few calls) and printed next to the estimate the automatic choice compares (the cost
model times its calibrated scale, `jconv._select.candidates`), the raw model, and
the automatic choice.
This is how the cost model is checked against the machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)
ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))

from cases import BY_NAME, CASES, Case  # noqa: E402

from jconv._algorithms import REGISTRY  # noqa: E402
from jconv._select import choose, refusal  # noqa: E402
from jconv._spec import conv_layer, conv_transpose_layer, signal_plan  # noqa: E402


def case_spec(case: Case):
    if case.kind == "signal":
        a = case.x_shape
        b = case.w_shape
        return signal_plan("bench", a, b, "full", -1, case.dtype).spec
    if case.kind == "conv_transpose":
        return conv_transpose_layer(
            "bench", case.x_shape, case.w_shape, case.dtype, stride=case.stride,
            padding=case.padding, output_padding=case.output_padding, groups=case.groups,
        ).spec
    return conv_layer(
        "bench", case.x_shape, case.w_shape, case.dtype, stride=case.stride,
        padding=case.padding, dilation=case.dilation, groups=case.groups,
    ).spec


def time_run(name, spec, reps=5, limit=20.0):
    """(median seconds, compile seconds) of one algorithm on one spec."""
    rng = np.random.default_rng(0)
    dtype = np.dtype(spec.dtype)
    x = jax.device_put(rng.standard_normal(spec.x_shape).astype(dtype))
    w = jax.device_put(rng.standard_normal(spec.w_shape).astype(dtype))
    choice = choose(spec, name)
    t0 = time.perf_counter()
    f = jax.jit(lambda a, b: choice.run(a, b, None)).lower(x, w).compile()
    f(x, w).block_until_ready()
    compile_s = time.perf_counter() - t0
    ts = []
    start = time.perf_counter()
    for _ in range(reps):
        t = time.perf_counter()
        f(x, w).block_until_ready()
        ts.append(time.perf_counter() - t)
        if time.perf_counter() - start > limit:
            break
    return statistics.median(ts), compile_s


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", nargs="+", choices=sorted(BY_NAME))
    parser.add_argument("--algorithms", nargs="+", default=None)
    parser.add_argument("--max-estimate", type=float, default=2.0,
                        help="skip algorithms estimated slower than this many seconds")
    args = parser.parse_args(argv)
    cases = [BY_NAME[n] for n in args.cases] if args.cases else CASES
    names = args.algorithms or list(REGISTRY)
    for case in cases:
        spec = case_spec(case)
        for role, s in (("forward", spec), ("input_grad", spec.input_grad()),
                        ("kernel_grad", spec.kernel_grad())):
            chosen = choose(s).name
            print(f"{case.name} {role}: auto -> {chosen}", flush=True)
            for name in names:
                if refusal(name, s) is not None:
                    continue
                forced = choose(s, name)
                est, model = forced.seconds, forced.form.seconds
                if est > args.max_estimate:
                    print(f"    {name:10s} est {est * 1e3:9.2f} ms  (skipped)")
                    continue
                t, c = time_run(name, s)
                print(f"    {name:10s} est {est * 1e3:9.2f} ms  measured {t * 1e3:9.2f} ms"
                      f"  (model before scaling {model * 1e3:.2f} ms, compile {c:.1f} s)",
                      flush=True)


if __name__ == "__main__":
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    main()
