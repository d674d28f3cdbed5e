"""The speed cost of ``precision=HIGHEST``: jconv's default against HIGHEST and jax.lax.

    python benchmarks/highest.py [--rounds R] [--cases NAME ...]

For every benchmark case (`cases.py`), the forward plus backward pass (the output and
both gradients for a fixed cotangent, as `run.py` times it) of jconv with the default
policy, of jconv traced under ``jax.default_matmul_precision("highest")`` (which the
policy reads: HIGHEST for every call, `convolve` too), and of `jax.lax`, compiled once
each and called in turn, the median of the calls per round and the median over the
rounds. Prints a table: times and the ratios HIGHEST / default and HIGHEST / lax.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import jax  # noqa: E402
import numpy as np  # noqa: E402

jax.config.update("jax_enable_x64", True)
ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))

from cases import BY_NAME, CASES  # noqa: E402
from run import jconv_fn, lax_fn  # noqa: E402


def _step(f):
    def step(x, w, ct):
        y, pull = jax.vjp(f, x, w)
        return y, *pull(ct)

    return step


def compiled(f, x, w, highest: bool):
    ct = jax.ShapeDtypeStruct(jax.eval_shape(f, x, w).shape, x.dtype)
    if highest:
        with jax.default_matmul_precision("highest"):
            return jax.jit(_step(f)).lower(x, w, ct).compile()
    return jax.jit(_step(f)).lower(x, w, ct).compile()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=5)
    parser.add_argument("--cases", nargs="+", choices=sorted(BY_NAME))
    args = parser.parse_args(argv)
    cases = [BY_NAME[n] for n in args.cases] if args.cases else CASES
    rows = []
    for case in cases:
        rng = np.random.default_rng(0)
        x = jax.device_put(rng.standard_normal(case.x_shape).astype(case.dtype))
        w = jax.device_put(rng.standard_normal(case.w_shape).astype(case.dtype))
        peers = {"default": compiled(jconv_fn(case), x, w, False),
                 "highest": compiled(jconv_fn(case), x, w, True),
                 "lax": compiled(lax_fn(case), x, w, False)}
        y_shape = jax.eval_shape(jconv_fn(case), x, w).shape
        ct = jax.device_put(rng.standard_normal(y_shape).astype(case.dtype))
        for f in peers.values():
            jax.block_until_ready(f(x, w, ct))
        medians = {name: [] for name in peers}
        for _ in range(args.rounds):
            times = {name: [] for name in peers}
            for _ in range(args.calls):
                for name, f in peers.items():
                    t0 = time.perf_counter()
                    jax.block_until_ready(f(x, w, ct))
                    times[name].append(time.perf_counter() - t0)
            for name in peers:
                medians[name].append(statistics.median(times[name]))
        t = {name: statistics.median(v) for name, v in medians.items()}
        rows.append((case.name, t))
        print(f"{case.name:15s} default {t['default'] * 1e3:8.2f} ms  highest "
              f"{t['highest'] * 1e3:8.2f} ms  lax {t['lax'] * 1e3:8.2f} ms  highest/default "
              f"{t['highest'] / t['default']:5.2f}  highest/lax {t['highest'] / t['lax']:5.2f}",
              flush=True)
    print("\n| case | default (ms) | HIGHEST (ms) | lax (ms) | HIGHEST / default | HIGHEST / lax |")
    print("|---|---|---|---|---|---|")
    for name, t in rows:
        print(f"| {name} | {t['default'] * 1e3:.2f} | {t['highest'] * 1e3:.2f} | "
              f"{t['lax'] * 1e3:.2f} | {t['highest'] / t['default']:.2f} | "
              f"{t['highest'] / t['lax']:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
