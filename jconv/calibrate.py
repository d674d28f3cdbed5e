"""Calibrate jconv's cost model on this device: ``python -m jconv.calibrate``.

    python -m jconv.calibrate [--scales-only] [--quick] [--output PATH] [--dry-run]

Measures the machine constants of the raw cost models, then times every form of every
algorithm on the passes of a set of typical convolutions (`CALIBRATION_SET`, not the
benchmark's shapes, and `RANDOM_LAYERS` random ones) and fits each form's scale, and writes both to this device's user
calibration file (see `jconv._calibration`: ``$JCONV_CALIBRATION_DIR``, else the user's
cache directory), which then overrides the calibration shipped for this device kind.
It runs on JAX's default device; run it once per kind of machine.

The constants, each from a small measurement (best of several runs, so that other load
inflates it as little as possible):

* ``launch_seconds``: the cost of one more (unfused) operation in a compiled function;
* ``stream_bytes``: bytes per second read plus written by an in-place elementwise pass
  over an array larger than the caches (no fresh pages);
* ``alloc_reuse_bytes`` / ``fault_bytes``: temporaries larger than the allocator keeps
  for reuse (glibc's largest dynamic mmap threshold, 32 MiB) are mapped afresh on every
  call and each of their pages faults on first touch; ``fault_bytes`` is the rate of that;
* ``matmul_flops`` and ``matmul_half``: float32 matrix-product throughput, and the
  size at which one matrix dimension reaches half of it (``n / (n + half)``);
  ``matmul_f64_factor`` / ``matmul_int_factor``: float64 and int32 slowdowns;
* ``fma_flops`` (+ factors): the fused multiply-add loops of the ``taps`` algorithm,
  fitted on a depthwise convolution;
* ``xla_flops`` / ``xla_channel_half`` / ``xla_output_seconds`` (+ factors): XLA's
  convolution, fitted on a dense, a depthwise and a pointwise convolution;
  ``xla_group_penalty`` on a grouped one;
* the FFT and Winograd rates keep the values of the calibration in use.

The scales: per form, the median ratio of measured to raw estimated time (each time the
median of calls made in turn with the pass's other forms, `CALLS`), which
absorbs what a model leaves out. For single-form algorithms also one per kernel class
(pointwise, small, large) where there are at least three samples, and factors per
number of spatial dims and for few channels per group where those differ by more than
25%; polyphase (whose raw estimate is its phases' calibrated estimates) gets its own
scale and few-channel factor, fitted with the others in place. `jconv._select.scale`
applies them. Forms the set does not reach keep their previous scale.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import platform
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from . import _bench, _calibration
from ._algorithms._common import few_channels
from ._calibration import Calibration
from ._select import Planner, kernel_class
from ._spec import ConvSpec


def best_time(fn, *args, reps=9, min_seconds=0.3):
    """Best of ``reps`` calls (at least ``min_seconds`` in all), after a warm-up."""
    jax.block_until_ready(fn(*args))
    times = []
    start = time.perf_counter()
    while len(times) < reps or time.perf_counter() - start < min_seconds:
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - t0)
        if len(times) > 200:
            break
    return min(times)


def rand(shape, dtype="float32", seed=0):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind in "iu":
        return jnp.asarray(rng.integers(-3, 4, shape).astype(dtype))
    return jnp.asarray(rng.standard_normal(shape).astype(dtype))


def launch_seconds() -> float:
    x = rand((16,))

    def chain(n):
        def f(a):
            for _ in range(n):
                a = lax.optimization_barrier(a * 1.0001 + 1.0)
            return a

        return jax.jit(f)

    t1, t33 = best_time(chain(1), x), best_time(chain(33), x)
    return max((t33 - t1) / 32, 1e-7)


def stream_bytes() -> float:
    """An in-place pass over 48 MiB: larger than the caches, no fresh pages."""
    x = rand((12 * 2**20,))
    f = jax.jit(lambda a: a * 0.5 + 1.0, donate_argnums=0)
    x = f(x)
    times = []
    for _ in range(15):
        t0 = time.perf_counter()
        x = f(x)
        x.block_until_ready()
        times.append(time.perf_counter() - t0)
    return 2 * x.nbytes / min(times)


def fault_bytes(stream: float) -> float:
    x = rand((32 * 2**20,))  # 128 MiB: mapped afresh on every call
    f = jax.jit(lambda a: a * 2.0 + 1.0)
    t = best_time(f, x, reps=5)
    # the output is the fresh allocation, past the reuse size: every page of it faults
    return x.nbytes / max(t - 2 * x.nbytes / stream, 1e-6)


def matmul_rate(m, k, n, dtype="float32") -> float:
    a, b = rand((m, k), dtype), rand((k, n), dtype, 1)
    f = jax.jit(jnp.matmul)
    return 2 * m * k * n / best_time(f, a, b)


def matmul_constants() -> dict:
    peak = max(matmul_rate(1024, 1024, 1024), matmul_rate(2048, 1024, 1024),
               matmul_rate(4096, 512, 256), matmul_rate(256, 2048, 2048))
    halves = []
    for small in (2, 4, 16):
        for shape in ((small, 512, 4096), (512, small, 4096), (4096, 512, small)):
            eff = min(matmul_rate(*shape) / peak, 0.999)
            halves.append(max(small * (1 / eff - 1), 0.0))
    return {
        "matmul_flops": peak,
        "matmul_half": float(np.median(halves)),
        "matmul_f64_factor": peak / matmul_rate(1024, 1024, 1024, "float64"),
        "matmul_int_factor": peak / matmul_rate(1024, 1024, 1024, "int32"),
    }


def spec(**kw) -> ConvSpec:
    base = dict(batch=8, groups=64, in_channels=1, out_channels=1, in_size=(56, 56),
                kernel_size=(3, 3), stride=(1, 1), padding=((1, 1), (1, 1)),
                lhs_dilation=(1, 1), rhs_dilation=(1, 1))
    base.update(kw)
    return ConvSpec(**base)


def time_run(run, s: ConvSpec) -> float:
    """Best time of ``run(x, w)`` on random operands of ``s``, compiled once."""
    x, w = rand(s.x_shape, s.dtype), rand(s.w_shape, s.dtype, 1)
    return best_time(jax.jit(run), x, w, reps=7)


CALLS = (7, 31, 0.5)
"""The scales' timings: each form of a pass called in turn with the others, at least 7
and at most 31 times within half a second; the median (`jconv._bench.interleaved`)."""


def compiled_call(run, s: ConvSpec):
    """``run`` compiled for random operands of ``s``: a call that waits for the result."""
    x, w = rand(s.x_shape, s.dtype), rand(s.w_shape, s.dtype, 1)
    f = jax.jit(run).lower(x, w).compile()
    return lambda: f(x, w).block_until_ready()


def time_xla(s: ConvSpec) -> float:
    """Best time of XLA's convolution on ``s`` (no plan involved)."""
    from ._algorithms import xla

    return time_run(lambda a, b: xla.run(a, b, s), s)


def fma_constants(c: dict) -> dict:
    from ._algorithms import taps
    from ._algorithms._common import wide_fraction

    def rate(s):
        # the effective rate, memory traffic included (the form's scale absorbs the rest)
        t = time_run(lambda a, b: taps.run_form("fma", a, b, s), s)
        return 2 * s.macs / wide_fraction(s) / t

    f32 = np.median([rate(spec()), rate(spec(groups=32, in_channels=4, out_channels=4,
                                             in_size=(28, 28)))])
    out = {"fma_flops": float(f32)}
    out["fma_f64_factor"] = f32 / rate(spec(dtype="float64"))
    out["fma_int_factor"] = f32 / rate(spec(dtype="int32"))
    return out


def xla_constants(c: dict) -> dict:
    from ._algorithms._common import operand_bytes

    dense = spec(batch=4, groups=1, in_channels=64, out_channels=64, in_size=(28, 28))
    depthwise = spec(batch=4, in_size=(28, 28))
    pointwise = spec(groups=1, in_channels=16, out_channels=32, kernel_size=(1, 1),
                     padding=((0, 0), (0, 0)))
    rows, rhs = [], []
    for s in (dense, depthwise, pointwise):
        t = time_xla(s) - operand_bytes(s) / c["stream_bytes"]
        cc = s.in_channels * s.out_channels
        # t = 2 macs (u + v / cc) + outputs o
        rows.append([2 * s.macs, 2 * s.macs / cc, math.prod(s.y_shape)])
        rhs.append(max(t, 1e-6))
    u, v, o = np.linalg.lstsq(np.array(rows), np.array(rhs), rcond=None)[0]
    u, o = max(u, 1e-13), max(o, 0.0)
    out = {"xla_flops": float(1 / u), "xla_channel_half": float(max(v / u, 0.0)),
           "xla_output_seconds": float(o)}

    def compute(s):  # the measured time less the operand traffic and the outputs' cost
        return (time_xla(s) - operand_bytes(s) / c["stream_bytes"]
                - math.prod(s.y_shape) * out["xla_output_seconds"])

    def predicted(s):
        cc = s.in_channels * s.out_channels
        return 2 * s.macs * (u + v / cc)

    for key, dtype in (("xla_f64_factor", "float64"), ("xla_int_factor", "int32")):
        s = spec(batch=2, groups=1, in_channels=32, out_channels=32, in_size=(28, 28),
                 dtype=dtype)
        out[key] = float(max(compute(s) / predicted(s), 1.0))
    # grouped, with more than a few channels per group (few: the depthwise fit above)
    grouped = spec(batch=4, groups=8, in_channels=16, out_channels=32, in_size=(28, 28))
    out["xla_group_penalty"] = float(max(compute(grouped) / predicted(grouped), 1.0))
    # the routes that use every core (`xla.route`): a large kernel, and input dilation
    # (its own channel saturation, on the useful products: the inserted zeros are skipped)
    from ._algorithms.xla import route

    large = spec(batch=4, groups=1, in_channels=128, out_channels=256, in_size=(14, 14))
    assert route(large) == "parallel"
    out["xla_parallel_speedup"] = float(max(predicted(large) / max(compute(large), 1e-6), 1.0))
    rows, rhs = [], []
    for ci, co, size in ((64, 64, 28), (256, 128, 14)):
        s = spec(batch=8, groups=1, in_channels=ci, out_channels=co, in_size=(size, size),
                 kernel_size=(4, 4), padding=((2, 2), (2, 2)), lhs_dilation=(2, 2))
        assert route(s) == "dilated"
        t = compute(s)
        useful = s.macs / 4
        rows.append([2 * useful, 2 * useful / (ci * co)])
        rhs.append(max(t, 1e-6))
    u, v = np.linalg.solve(np.array(rows), np.array(rhs))
    u = max(u, 1e-13)
    out["xla_dilated_flops"] = float(1 / u)
    out["xla_dilated_channel_half"] = float(max(v / u, 0.0))
    # 1-D float64: a route of its own (`xla.route`), a flat rate, slower for kernel
    # gradients and far slower for grouped layers
    dense = spec(batch=4, groups=1, in_channels=32, out_channels=32, in_size=(2048,),
                 kernel_size=(9,), stride=(1,), padding=((4, 4),), lhs_dilation=(1,),
                 rhs_dilation=(1,), dtype="float64")
    depthwise = spec(batch=4, groups=64, in_size=(1024,), kernel_size=(7,), stride=(1,),
                     padding=((3, 3),), lhs_dilation=(1,), rhs_dilation=(1,), dtype="float64")
    assert route(dense) == route(depthwise) == "f64_1d"

    def rate(s):
        return 2 * s.macs / max(time_xla(s) - operand_bytes(s) / c["stream_bytes"],
                                1e-6)

    out["xla_f64_1d_flops"] = rate(dense)
    out["xla_f64_1d_kernel_grad"] = min(rate(dense.kernel_grad()) / out["xla_f64_1d_flops"], 1.0)
    out["xla_f64_1d_group_penalty"] = max(out["xla_f64_1d_flops"] / rate(depthwise), 1.0)
    return out


CALIBRATION_SET = [
    # (kind, x shape, w shape, keyword arguments, dtype)
    ("conv", (4, 32, 40, 40), (32, 32, 3, 3), dict(padding=1), "float32"),
    ("conv", (8, 48, 48, 48), (48, 48, 3, 3), dict(padding=1), "float32"),
    ("conv", (4, 96, 20, 20), (192, 96, 1, 1), {}, "float32"),
    ("conv", (8, 192, 14, 14), (96, 192, 1, 1), {}, "float32"),
    ("conv", (8, 64, 32, 32), (128, 64, 1, 1), {}, "float32"),
    ("conv", (4, 64, 24, 24), (64, 4, 3, 3), dict(padding=1, groups=16), "float32"),
    ("conv", (8, 256, 14, 14), (256, 8, 3, 3), dict(padding=1, groups=32), "float32"),
    ("conv", (4, 48, 40, 40), (48, 1, 3, 3), dict(padding=1, groups=48), "float32"),
    ("conv", (8, 96, 48, 48), (96, 1, 3, 3), dict(padding=1, groups=96), "float32"),
    ("conv", (2, 32, 24, 24), (32, 1, 13, 13), dict(padding=6, groups=32), "float32"),
    ("conv", (2, 8, 48, 48), (8, 8, 9, 9), dict(padding=4), "float32"),
    ("conv", (4, 32, 2048), (32, 32, 7), dict(padding=3), "float32"),
    ("conv", (4, 128, 2048), (128, 128, 5), dict(padding=2), "float32"),
    ("conv", (2, 16, 8, 24, 24), (16, 16, 3, 3, 3), dict(padding=1), "float32"),
    ("conv", (4, 32, 24, 24), (32, 32, 3, 3), dict(padding=1), "float64"),
    ("conv", (4, 32, 2048), (32, 32, 9), dict(padding=4, stride=2), "float64"),
    ("conv", (4, 32, 40, 40), (64, 32, 3, 3), dict(stride=2, padding=1), "float32"),
    ("conv_transpose", (4, 64, 12, 12), (64, 32, 4, 4), dict(stride=2, padding=1), "float32"),
    ("conv_transpose", (8, 64, 24, 24), (64, 32, 3, 3),
     dict(stride=2, padding=1, output_padding=1), "float32"),
    ("conv", (8, 128, 28, 28), (256, 128, 3, 3), dict(stride=2, padding=1), "float32"),
    ("conv", (4, 96, 32, 32), (96, 4, 3, 3), dict(stride=2, padding=1, groups=24), "float32"),
    ("conv", (4, 48, 48, 48), (48, 1, 3, 3), dict(stride=2, padding=1, groups=48), "float32"),
    ("conv_transpose", (4, 32, 24, 24), (32, 4, 4, 4), dict(stride=2, padding=1, groups=8),
     "float32"),
    ("conv_transpose", (4, 256, 8, 8), (256, 128, 4, 4), dict(stride=2, padding=1), "float32"),
    ("conv_transpose", (8, 64, 32, 32), (64, 32, 4, 4), dict(stride=2, padding=1), "float32"),
    ("signal", (2, 16384), (1, 512), {}, "float32"),
    ("conv", (2, 16, 24, 24), (16, 16, 3, 3), dict(padding=1), "int32"),
]


RANDOM_SEED = 7
"""The seed of the calibration's random layers (`random_layers`); held-out checks use
another one and leave these out."""
RANDOM_LAYERS = 16
MACS = (2e6, 4e8)  # multiply-adds per forward pass: small layers to large ones


def _draw_layer(rng):
    """One random, realistic layer ``(kind, x shape, w shape, keywords, dtype)``, or None."""
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
        return "conv_transpose", x, w, kw, dtype
    w = (co, c // groups, *(k,) * nd)
    return "conv", x, w, dict(stride=stride, padding=k // 2, groups=groups), dtype


def random_layers(count: int, seed: int, exclude=()) -> list:
    """``count`` random, realistic layers (1-D, 2-D and 3-D; float32 and float64;
    strides, groups, depthwise, transposed) of `MACS` multiply-adds, drawn with ``seed``,
    none with the (x shape, w shape) of a layer in ``exclude``."""
    from ._spec import conv_layer, conv_transpose_layer

    rng = np.random.default_rng(seed)
    seen = {(xs, ws) for _, xs, ws, _, _ in exclude}
    out = []
    while len(out) < count:
        layer = _draw_layer(rng)
        if layer is None or (layer[1], layer[2]) in seen:
            continue
        kind, xs, ws, kw, dtype = layer
        build = conv_transpose_layer if kind == "conv_transpose" else conv_layer
        try:
            spec = build("calibrate", xs, ws, dtype, **kw).spec
        except ValueError:
            continue
        if MACS[0] <= spec.macs <= MACS[1]:
            seen.add((xs, ws))
            out.append(layer)
    return out


def training_set() -> list:
    """What the calibration fits on: `CALIBRATION_SET` and `RANDOM_LAYERS` random layers."""
    return CALIBRATION_SET + random_layers(RANDOM_LAYERS, RANDOM_SEED, CALIBRATION_SET)


QUICK_SET = [
    ("conv", (2, 16, 16, 16), (16, 16, 3, 3), dict(padding=1), "float32"),
    ("conv", (2, 16, 16, 16), (16, 1, 3, 3), dict(padding=1, groups=16), "float32"),
    ("conv_transpose", (2, 16, 8, 8), (16, 8, 4, 4), dict(stride=2, padding=1), "float32"),
]


def calibration_specs(cases=None):
    """(label, spec) for every pass of every convolution in ``cases`` (`training_set`)."""
    from ._spec import conv_layer, conv_transpose_layer, signal_plan

    out = []
    for i, (kind, xs, ws, kw, dtype) in enumerate(cases or training_set()):
        if kind == "signal":
            spec = signal_plan("cal", xs, ws, "full", -1, dtype).spec
        elif kind == "conv_transpose":
            spec = conv_transpose_layer("cal", xs, ws, dtype, **kw).spec
        else:
            spec = conv_layer("cal", xs, ws, dtype, **kw).spec
        passes = [("forward", spec)]
        if np.dtype(dtype).kind in "fc" and kind != "signal":
            passes += [("input_grad", spec.input_grad()), ("kernel_grad", spec.kernel_grad())]
        out += [(f"{i}:{kind}:{role}", s) for role, s in passes]
    return out


class _Progress:
    """``[k/n] what`` on one line of stderr (a terminal) or one line per step (a file)."""

    def __init__(self, total: int):
        self.total, self.done, self.start = total, 0, time.perf_counter()

    def step(self, what: str) -> None:
        self.done += 1
        elapsed = time.perf_counter() - self.start
        line = f"[{self.done:>4}/{self.total}] {elapsed:6.0f} s  {what}"
        if sys.stderr.isatty():
            print("\r" + line[:100].ljust(100), end="", file=sys.stderr, flush=True)
        else:
            print(line, file=sys.stderr, flush=True)

    def close(self) -> None:
        if sys.stderr.isatty():
            print(file=sys.stderr)


def _planner(constants: dict, scales: dict) -> Planner:
    cal = Calibration(jax.default_backend(), "calibrating", constants, scales, "calibrate")
    return Planner(jax.default_backend(), cal)


def fit_scales(constants: dict, previous: dict, specs, verbose=False) -> dict:
    """Per form, the median measured / raw estimated time (see the module docstring).

    ``previous`` holds the scales in use: forms without samples keep theirs.
    """
    raw = _planner(constants, {k: {"base": 1.0} for k in previous})
    work = []  # (label, spec, algorithm, form), every form worth timing
    for label, s in specs:
        forms = [(name, f) for name, answer in raw.plans(s).items()
                 if name != "polyphase" and not isinstance(answer, str) for f in answer]
        best = min(f.seconds for _, f in forms)
        # never a contender here: timing it would only cost time
        work += [(label, s, name, f) for name, f in forms
                 if f.seconds <= 20 * best and f.seconds <= 1.0]
    poly = [(label, s) for label, s in specs if isinstance(raw.plans(s)["polyphase"], tuple)]
    progress = _Progress(len(work) + len(poly))
    samples = []  # (form key, kernel class, ndim, few channels, ratio)
    for label in dict.fromkeys(label for label, *_ in work):
        mine = [(s, f) for lab, s, _, f in work if lab == label]
        # a pass's forms timed in turn, each call after the others' (`interleaved`), as the
        # selection benchmark times them and as a layer runs among other work in a model
        runners = {i: compiled_call(lambda a, b, f=f: f.run(a, b, None), s)
                   for i, (s, f) in enumerate(mine)}
        timed = _bench.interleaved(runners, *CALLS)
        for i, (s, f) in enumerate(mine):
            t = timed[i]["median"]
            samples.append((f.key, kernel_class(s), s.ndim, few_channels(s), t / f.seconds))
            progress.step(f"{label} {f.key}: {t * 1e3:.2f} ms, raw estimate "
                          f"{f.seconds * 1e3:.2f} ms")
    out = {key: dict(previous[key]) for key in previous}
    for key in {k for k, *_ in samples}:
        mine = [(cls, nd, few, r) for k, cls, nd, few, r in samples if k == key]
        out[key] = {"base": _geomedian([r for *_, r in mine])}
        if "." in key:  # the forms of taps and im2col: one scale each
            continue
        for cls in ("pointwise", "small", "large"):
            sub = [r for c, _, _, r in mine if c == cls]
            if len(sub) >= 3:
                out[key][cls] = _geomedian(sub)
        # what the kernel class leaves unexplained: per number of spatial dims (XLA's own
        # convolution, for one, is much better at 1-D than at 3-D), then for few channels
        by_class = [(nd, few, r / out[key].get(cls, out[key]["base"])) for cls, nd, few, r in mine]
        for dims in {nd for nd, _, _ in by_class}:
            factor = _factor([r for nd, _, r in by_class if nd == dims])
            if factor:
                out[key][f"{dims}d"] = factor
        factor = _factor([r / out[key].get(f"{nd}d", 1.0) for nd, few, r in by_class if few])
        if factor:
            out[key]["few"] = factor
    # polyphase's raw estimate is the sum of its phases' calibrated estimates: fit its own
    # scale (the interleaving and what the phases lose by being small) with those in place
    fitted = _planner(constants, {**out, "polyphase": {"base": 1.0}})
    ratios = []  # (few channels, ratio)
    for label, s in poly:
        choice = fitted.forced("polyphase", s)
        runner = compiled_call(lambda a, b, c=choice: c.run(a, b, None), s)
        t = _bench.interleaved({"polyphase": runner}, *CALLS)["polyphase"]["median"]
        ratios.append((few_channels(s), t / choice.form.seconds))
        progress.step(f"{label} polyphase: {t * 1e3:.2f} ms, raw estimate "
                      f"{choice.form.seconds * 1e3:.2f} ms")
    progress.close()
    if ratios:
        many = [r for few, r in ratios if not few] or [r for _, r in ratios]
        out["polyphase"] = {"base": _geomedian(many)}
        factor = _factor([r / out["polyphase"]["base"] for few, r in ratios if few])
        if factor:
            out["polyphase"]["few"] = factor
    return out


def _geomedian(values) -> float:
    return float(np.exp(np.median(np.log(values))))


def _factor(ratios) -> float | None:
    """The median of ``ratios`` where it is a correction worth making: at least three
    samples, and more than 25% away from 1."""
    if len(ratios) < 3:
        return None
    factor = _geomedian(ratios)
    return factor if abs(np.log(factor)) > np.log(1.25) else None


def measure_constants(c: dict) -> dict:
    """``c`` with this device's machine constants measured (the module docstring)."""
    c = dict(c)
    c["launch_seconds"] = launch_seconds()
    c["stream_bytes"] = stream_bytes()
    c["alloc_reuse_bytes"] = 32 * 2**20
    c["fault_bytes"] = fault_bytes(c["stream_bytes"])
    c.update(matmul_constants())
    c.update(fma_constants(c))
    c.update(xla_constants(c))
    return c


def _rounded(c: dict) -> dict:
    return {k: (int(v) if k == "alloc_reuse_bytes" else float(f"{v:.3g}")) for k, v in c.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m jconv.calibrate",
        description="Calibrate jconv's cost model on this device and write its user "
                    "calibration file.")
    parser.add_argument("--scales-only", action="store_true",
                        help="keep the machine constants in use, refit the form scales")
    parser.add_argument("--quick", action="store_true",
                        help="fit on a few small convolutions only (a rough calibration)")
    parser.add_argument("--output", type=Path, default=None,
                        help="write this file instead of the device's user calibration")
    parser.add_argument("--dry-run", action="store_true", help="print, do not write")
    args = parser.parse_args(argv)
    jax.config.update("jax_enable_x64", True)
    backend = jax.default_backend()
    current = _calibration.lookup(backend) or _calibration.reference()
    constants = dict(current.constants)
    if not args.scales_only:
        print("measuring the machine constants ...", file=sys.stderr, flush=True)
        constants = measure_constants(constants)
    specs = calibration_specs(QUICK_SET if args.quick else training_set())
    print(f"timing the forms on {len(specs)} passes ...", file=sys.stderr, flush=True)
    scales = fit_scales(constants, {k: dict(v) for k, v in current.scales.items()}, specs)
    scales = {k: {f: float(f"{v:.3g}") for f, v in s.items()} for k, s in sorted(scales.items())}
    device = jax.devices()[0]
    fields = dict(
        constants=_rounded(constants), scales=scales,
        measured_on=f"{platform.machine()}, {device.device_kind}, {jax.device_count()} "
                    f"device(s), jax {jax.__version__}, "
                    f"{datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}"
                    + (", quick" if args.quick else ""),
    )
    if args.dry_run:
        print(json.dumps(fields, indent=1))
        return 0
    if args.output is not None:
        data = dict(platform=backend, device_kind=_calibration.device_kind(backend), **fields)
        args.output.write_text(json.dumps(data, indent=1, sort_keys=True))
        path = args.output
    else:
        path = _calibration.update_user_file(backend, **fields)
        _calibration.reload()
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
