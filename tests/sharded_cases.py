"""Sharded convolutions against their unsharded results and against lax's collectives.

Run in a process of its own (it asks XLA for 8 host devices before JAX starts):

    python tests/sharded_cases.py [--algorithms auto,xla,...] [--cases NAME,...] [--json FILE]

Each case is a layer (1-D, 2-D or 3-D), a sharding of its operands over a mesh of 8
host devices, and the same layer written with `jax.lax`. For each algorithm it compiles
one program computing the output and both gradients under `jit`, and records: the
largest relative difference from lax's unsharded results (float64), the output
shardings, and the numbers of all-gathers, all-reduces and collective-permutes in the
compiled HLO beside lax's for the same program.
`tests/test_sharding.py` runs it; `benchmarks/sharding.py` prints its full table.
"""

from __future__ import annotations

import os

if __name__ == "__main__":  # imported by the tests for its tables: leave XLA_FLAGS alone
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                               + " --xla_force_host_platform_device_count=8")

import argparse  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax.sharding import Mesh, NamedSharding  # noqa: E402
from jax.sharding import PartitionSpec as P  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import jconv  # noqa: E402

jax.config.update("jax_enable_x64", True)
COLLECTIVES = ("all-gather", "all-reduce", "collective-permute")


def lax_conv(x, w, *, stride=1, padding="SAME", dilation=1, groups=1, lhs_dilation=None):
    nd = x.ndim - 2
    return jax.lax.conv_general_dilated(
        x, w, (stride,) * nd, padding, lhs_dilation=lhs_dilation, rhs_dilation=(dilation,) * nd,
        feature_group_count=groups)


def layer(padding="same", **kw):
    """A conv layer case: jconv.conv with ``kw`` and the same layer through lax."""
    def lax_f(x, w):
        nd = x.ndim - 2
        pad = [(padding, padding)] * nd if isinstance(padding, int) else padding.upper()
        return lax_conv(x, w, padding=pad, **kw)
    return (lambda alg: lambda x, w: jconv.conv(x, w, padding=padding, algorithm=alg, **kw),
            lax_f)


def transpose(stride):
    """conv_transpose with ``stride`` (kernel 4, padding 1): lax's input-dilated form."""
    def lax_f(x, w):
        nd = x.ndim - 2
        wt = jnp.flip(jnp.swapaxes(w, 0, 1), tuple(range(2, 2 + nd)))
        return jax.lax.conv_general_dilated(x, wt, (1,) * nd, [(2, 2)] * nd,
                                            lhs_dilation=(stride,) * nd)
    return (lambda alg: lambda x, w: jconv.conv_transpose(x, w, stride=stride, padding=1,
                                                          algorithm=alg), lax_f)


def signal():
    """convolve along time, batched: x (B, T), h (1, K)."""
    def lax_f(x, h):
        y = jax.lax.conv_general_dilated(x[:, None], jnp.flip(h)[None], (1,), "SAME")
        return y[:, 0]
    return (lambda alg: lambda x, h: jconv.convolve(x, h, mode="same", axes=-1,
                                                    method=alg), lax_f)


# name: (make, x shape, w shape, x spec, w spec, mesh shape)
CASES = {
    "2d-batch": (layer(), (16, 8, 16, 16), (8, 8, 3, 3), P("a"), P(), (8,)),
    "2d-out-channels": (layer(), (2, 8, 16, 16), (16, 8, 3, 3), P(), P("a"), (8,)),
    "2d-in-channels": (layer(), (2, 16, 16, 16), (8, 16, 3, 3), P(None, "a"), P(None, "a"), (8,)),
    "2d-groups": (layer(groups=8), (2, 16, 16, 16), (16, 2, 3, 3), P(None, "a"), P("a"), (8,)),
    "2d-depthwise": (layer(groups=8), (8, 8, 16, 16), (8, 1, 3, 3), P("a"), P(), (8,)),
    "2d-spatial": (layer(), (2, 4, 32, 16), (4, 4, 3, 3), P(None, None, "a"), P(), (8,)),
    "2d-spatial-2axes": (layer(), (2, 4, 16, 32), (4, 4, 3, 3), P(None, None, "a", "b"), P(),
                         (2, 4)),
    "2d-spatial-stride": (layer(stride=2, padding=2, dilation=2), (2, 4, 64, 8), (4, 4, 3, 3),
                          P(None, None, "a"), P(), (8,)),
    "2d-spatial-valid": (layer(padding="valid"), (2, 4, 64, 8), (4, 4, 3, 3),
                         P(None, None, "a"), P(), (8,)),
    "2d-batch-spatial": (layer(), (4, 4, 32, 8), (4, 4, 5, 5), P("a", None, "b"), P(), (2, 4)),
    "2d-transpose-spatial": (transpose(2), (2, 4, 32, 8), (4, 4, 4, 4), P(None, None, "a"),
                             P(), (8,)),
    "1d-batch": (layer(), (16, 4, 64), (8, 4, 9), P("a"), P(), (8,)),
    "1d-signal-time": (signal(), (2, 4096), (1, 65), P(None, "a"), P(), (8,)),
    "1d-signal-wide-halo": (signal(), (2, 256), (1, 129), P(None, "a"), P(), (8,)),
    "1d-signal-short-blocks": (signal(), (2, 8), (1, 3), P(None, "a"), P(), (8,)),
    "3d-batch": (layer(), (8, 2, 8, 8, 8), (4, 2, 3, 3, 3), P("a"), P(), (8,)),
    "3d-spatial": (layer(), (1, 2, 32, 8, 8), (2, 2, 3, 3, 3), P(None, None, "a"), P(), (8,)),
}


# What the test suite runs (the benchmark runs everything): auto on every kind of split,
# every algorithm on a batch split, the algorithms that take a strided layer on a
# spatial split, a long signal split along time, the depthwise layer FFT used to crash on.
ALGORITHMS = ("xla", "taps", "im2col", "col2im", "polyphase", "fft", "winograd")
TEST_PLAN = {name: ("auto",) for name in CASES
             if name not in ("1d-batch", "3d-batch", "2d-batch-spatial")} | {
    "2d-batch": ("auto", *ALGORITHMS),
    "2d-spatial-stride": ("auto", "taps", "im2col", "fft"),
    "1d-signal-time": ("auto", "taps", "fft"),
    "2d-depthwise": ("auto", "fft"),
    "1d-signal-short-blocks": ("auto", "winograd"),
}
# Forced algorithms that run the whole pass but not one device's block of it (here a
# block of one output sample, too short for a Winograd tile): the axis is kept whole.
WHOLE_AXIS = {("1d-signal-short-blocks", "winograd")}


def count(hlo: str) -> dict[str, int]:
    """Collectives in a compiled module's text (async pairs counted once)."""
    return {c: len(re.findall(rf" {c}(-start)?\(", hlo)) for c in COLLECTIVES}


def with_gradients(f):
    """``(y, dx, dw)``: the forward pass and the VJP of ``sum(sin(y))``, one program."""
    def run(x, w):
        y, pull = jax.vjp(f, x, w)
        return (y, *pull(jnp.cos(y)))
    return run


def compile_run(f, x, w):
    jf = jax.jit(f)
    start = time.perf_counter()
    compiled = jf.lower(x, w).compile()
    seconds = time.perf_counter() - start
    return compiled(x, w), count(compiled.as_text()), seconds


def run_case(name: str, algorithms: list[str]) -> list[dict]:
    """One row per algorithm: collectives, output shardings, error against lax unsharded."""
    (make, lax_f), xs, ws, xspec, wspec, mesh_shape = CASES[name]
    mesh = Mesh(np.array(jax.devices()).reshape(mesh_shape), ("a", "b")[:len(mesh_shape)])
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    xd = jax.device_put(x, NamedSharding(mesh, xspec))
    wd = jax.device_put(w, NamedSharding(mesh, wspec))
    want = jax.jit(with_gradients(lax_f))(x, w)
    lax_out, lax_counts, lax_seconds = compile_run(with_gradients(lax_f), xd, wd)
    rows = []
    for alg in algorithms:
        row = dict(case=name, algorithm=alg, lax=lax_counts, lax_compile_s=round(lax_seconds, 2),
                   lax_shardings=[str(o.sharding.spec) for o in lax_out])
        try:
            out, counts, seconds = compile_run(with_gradients(make(alg)), xd, wd)
        except jconv.AlgorithmRefused as e:
            try:  # a refusal must not depend on the sharding
                jax.jit(with_gradients(make(alg))).lower(x, w)
                unsharded = False
            except jconv.AlgorithmRefused:
                unsharded = True
            rows.append(dict(row, refused=str(e).splitlines()[0], refused_unsharded=unsharded))
            continue
        err = max(float(jnp.max(jnp.abs(a - b)) / (1 + jnp.max(jnp.abs(b))))
                  for a, b in zip(out, want))
        rows.append(dict(row, jconv=counts, compile_s=round(seconds, 2), err=err,
                         shardings=[str(o.sharding.spec) for o in out]))
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--algorithms", default="auto", help="comma-separated, or 'all'")
    p.add_argument("--cases", default=",".join(CASES))
    p.add_argument("--test-plan", action="store_true", help="the test suite's selection")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    algorithms = ("auto", *ALGORITHMS) if args.algorithms == "all" else tuple(
        args.algorithms.split(","))
    plan = TEST_PLAN if args.test_plan else {c: algorithms for c in args.cases.split(",")}
    rows = []
    for name, algs in plan.items():
        new = run_case(name, list(algs))
        for r in new:
            print(json.dumps(r), flush=True)
        rows += new
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
