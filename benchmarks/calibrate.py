"""Measure the machine constants of jconv's cost model and write them into the package.

    python benchmarks/calibrate.py [--dry-run]

Each constant comes from a small measurement (best of several runs, so that other load
on the machine inflates it as little as possible):

* ``launch_seconds``: the cost of one more (unfused) operation in a compiled function;
* ``stream_bytes``: bytes per second read plus written by an in-place elementwise pass
  over an array larger than the caches (no fresh pages);
* ``alloc_reuse_bytes`` / ``fault_bytes``: temporaries larger than the allocator keeps
  for reuse (glibc's largest dynamic mmap threshold, 32 MiB) are mapped afresh on every
  call and every page faults on first touch; ``fault_bytes`` is the rate of that;
* ``matmul_flops`` and ``matmul_half``: float32 matrix-product throughput, and the
  size at which one matrix dimension reaches half of it (``n / (n + half)``);
  ``matmul_f64_factor`` / ``matmul_int_factor``: float64 and int32 slowdowns;
* ``fma_flops`` (+ factors): the fused multiply-add loops of the ``taps`` algorithm,
  fitted on a depthwise convolution;
* ``xla_flops`` / ``xla_channel_half`` (+ factors): XLA's convolution, fitted on a dense
  and a depthwise convolution;
* ``scale_<algorithm>[_<kernel class>]``: then, with those constants in place (a fresh
  process), every algorithm runs the three passes of a set of typical convolutions
  (`CALIBRATION_SET`, deliberately not the benchmark's shapes) and its estimates are
  scaled by the median ratio of measured to estimated time, which absorbs what its model
  leaves out: per form for ``taps`` (the fused form split at few channels) and
  ``im2col``; for the others per kernel class
  (pointwise, small, large) where there are enough samples, times a factor per number of
  spatial dims and one for few channels per group where those differ by more than 25%
  (polyphase: its own scale, and one for few channels). The selector multiplies each
  estimate by its scale.

The results are written to ``jconv/_algorithms/_calibration.py``, which the cost
functions read at import time. Check the model against the machine afterwards with
``python benchmarks/passes.py``.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import pprint
import subprocess
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

jax.config.update("jax_enable_x64", True)
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jconv._algorithms import REGISTRY  # noqa: E402
from jconv._algorithms import _calibration as calibration  # noqa: E402
from jconv._algorithms._common import few_channels  # noqa: E402
from jconv._select import kernel_class  # noqa: E402
from jconv._spec import ConvSpec  # noqa: E402

TARGET = ROOT / "jconv" / "_algorithms" / "_calibration.py"


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


def fault_bytes(stream: float, reuse: int) -> float:
    x = rand((32 * 2**20,))  # 128 MiB: mapped afresh on every call
    f = jax.jit(lambda a: a * 2.0 + 1.0)
    t = best_time(f, x, reps=5)
    over = x.nbytes - reuse  # the output is the fresh allocation
    return over / max(t - 2 * x.nbytes / stream, 1e-6)


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


def time_algorithm(name: str, s: ConvSpec, run=None) -> float:
    x, w = rand(s.x_shape, s.dtype), rand(s.w_shape, s.dtype, 1)
    alg = REGISTRY[name]
    f = jax.jit(lambda a, b: (run or alg.run)(a, b, s, None))
    return best_time(f, x, w, reps=7)


def fma_constants(c: dict) -> dict:
    from jconv._algorithms import taps
    from jconv._algorithms._common import wide_fraction

    def rate(s):
        # the effective rate, memory traffic included (the form's scale absorbs the rest)
        t = time_algorithm("taps", s, run=lambda a, b, sp, p: taps.run_form("fma", a, b, sp))
        return 2 * s.macs / wide_fraction(s) / t

    f32 = np.median([rate(spec()), rate(spec(groups=32, in_channels=4, out_channels=4,
                                             in_size=(28, 28)))])
    out = {"fma_flops": float(f32)}
    out["fma_f64_factor"] = f32 / rate(spec(dtype="float64"))
    out["fma_int_factor"] = f32 / rate(spec(dtype="int32"))
    return out


def xla_constants(c: dict) -> dict:
    from jconv._algorithms._common import operand_bytes

    dense = spec(batch=4, groups=1, in_channels=64, out_channels=64, in_size=(28, 28))
    depthwise = spec(batch=4, in_size=(28, 28))
    rows, rhs = [], []
    for s in (dense, depthwise):
        t = time_algorithm("xla", s) - operand_bytes(s) / c["stream_bytes"]
        cc = s.in_channels * s.out_channels
        rows.append([2 * s.macs, 2 * s.macs / cc])  # t = 2 macs (u + v / cc)
        rhs.append(max(t, 1e-6))
    u, v = np.linalg.solve(np.array(rows), np.array(rhs))
    u = max(u, 1e-13)
    out = {"xla_flops": float(1 / u), "xla_channel_half": float(max(v / u, 0.0))}

    def predicted(s):
        cc = s.in_channels * s.out_channels
        return 2 * s.macs * (u + v / cc)

    for key, dtype in (("xla_f64_factor", "float64"), ("xla_int_factor", "int32")):
        s = spec(batch=2, groups=1, in_channels=32, out_channels=32, in_size=(28, 28),
                 dtype=dtype)
        t = time_algorithm("xla", s) - operand_bytes(s) / c["stream_bytes"]
        out[key] = float(max(t / predicted(s), 1.0))
    # the routes that use every core (`xla.route`): a large kernel, and input dilation
    # (its own channel saturation, on the useful products: the inserted zeros are skipped)
    from jconv._algorithms.xla import route

    large = spec(batch=4, groups=1, in_channels=128, out_channels=256, in_size=(14, 14))
    assert route(large) == "parallel"
    t = time_algorithm("xla", large) - operand_bytes(large) / c["stream_bytes"]
    out["xla_parallel_speedup"] = float(max(predicted(large) / max(t, 1e-6), 1.0))
    rows, rhs = [], []
    for ci, co, size in ((64, 64, 28), (256, 128, 14)):
        s = spec(batch=8, groups=1, in_channels=ci, out_channels=co, in_size=(size, size),
                 kernel_size=(4, 4), padding=((2, 2), (2, 2)), lhs_dilation=(2, 2))
        assert route(s) == "dilated"
        t = time_algorithm("xla", s) - operand_bytes(s) / c["stream_bytes"]
        useful = s.macs / 4
        rows.append([2 * useful, 2 * useful / (ci * co)])
        rhs.append(max(t, 1e-6))
    u, v = np.linalg.solve(np.array(rows), np.array(rhs))
    u = max(u, 1e-13)
    out["xla_dilated_flops"] = float(1 / u)
    out["xla_dilated_channel_half"] = float(max(v / u, 0.0))
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


def calibration_specs():
    """(label, spec) for every pass of every convolution in `CALIBRATION_SET`."""
    from jconv._spec import conv_layer, conv_transpose_layer, signal_plan

    out = []
    for i, (kind, xs, ws, kw, dtype) in enumerate(CALIBRATION_SET):
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


def _variants(s):
    """(scale key, estimate seconds, run function or None) for every way to run ``s``."""
    from jconv._algorithms import im2col, taps

    out = []
    for name, alg in REGISTRY.items():
        if alg.supports(s) is not None or name == "polyphase":
            continue  # polyphase's estimate is its phases' calibrated estimates
        if name == "taps":
            for form, c in taps._mode_costs(s).items():
                out.append((taps.scale_key(s, form), c.seconds, name,
                            lambda a, b, sp, p, form=form: taps.run_form(form, a, b, sp)))
        elif name == "im2col":
            key = "scale_im2col_taps" if im2col._by_taps(s) else "scale_im2col_positions"
            out.append((key, alg.cost(s).seconds, name, None))
        else:
            out.append((f"scale_{name}", alg.cost(s).seconds, name, None))
    return out


def fit_scales(verbose=True) -> dict:
    """Median measured/estimated ratio per algorithm (per form for taps and im2col)."""
    for k in [k for k in calibration.CONSTANTS if k.startswith("scale_")]:
        del calibration.CONSTANTS[k]  # fit against the unscaled models
    ratios: dict[str, list[float]] = {}
    samples = []  # (key, kernel class, ndim, few channels, ratio): algorithms without forms
    for label, s in calibration_specs():
        variants = _variants(s)
        best = min(v[1] for v in variants)
        for key, est, name, run in variants:
            ratios.setdefault(key, [])
            if est > 20 * best or est > 1.0:
                continue  # never a contender here; timing it would only cost time
            t = time_algorithm(name, s, run)
            ratios[key].append(t / est)
            if name not in ("taps", "im2col"):
                ratios.setdefault(f"{key}|{kernel_class(s)}", []).append(t / est)
                samples.append((key, kernel_class(s), s.ndim, few_channels(s), t / est))
            if verbose:
                print(f"  {label:28s} {key:24s} est {est * 1e3:8.2f} ms  "
                      f"measured {t * 1e3:8.2f} ms", flush=True)
    out = _summarise(ratios)
    # what the kernel class leaves unexplained: per number of spatial dims (XLA's own
    # convolution, for one, is much better at 1-D than at 3-D), then for few channels
    for key in {k for k, *_ in samples}:
        mine = [(cls, nd, few, r / out.get(f"{key}_{cls}", out[key]))
                for k, cls, nd, few, r in samples if k == key]
        for dims in {nd for _, nd, _, _ in mine}:
            factor = _factor([r for _, nd, _, r in mine if nd == dims])
            if factor:
                out[f"{key}_{dims}d"] = factor
        factor = _factor([r / out.get(f"{key}_{nd}d", 1.0) for _, nd, few, r in mine if few])
        if factor:
            out[f"{key}_few"] = factor
    # polyphase's estimate is the sum of its phases' scaled estimates: fit its own scale
    # (the interleaving and what the phases lose by being small) with those in place
    calibration.CONSTANTS.update(out)
    poly = []  # (few channels, ratio)
    for label, s in calibration_specs():
        alg = REGISTRY["polyphase"]
        if alg.supports(s) is None:
            est, t = alg.cost(s).seconds, time_algorithm("polyphase", s)
            poly.append((few_channels(s), t / est))
            if verbose:
                print(f"  {label:28s} {'scale_polyphase':24s} est {est * 1e3:8.2f} ms  "
                      f"measured {t * 1e3:8.2f} ms", flush=True)
    if poly:
        many = [r for few, r in poly if not few] or [r for _, r in poly]
        out["scale_polyphase"] = _geomedian(many)
        factor = _factor([r / out["scale_polyphase"] for few, r in poly if few])
        if factor:
            out["scale_polyphase_few"] = factor
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


def _summarise(ratios: dict) -> dict:
    out = {}
    for key, r in ratios.items():
        if key.startswith("scale_") and "|" in key:
            continue
        out[key] = _geomedian(r) if r else 1.0
        # algorithms without forms also get one scale per kernel class, where the
        # calibration set has enough of it
        for cls in ("pointwise", "small", "large"):
            sub = ratios.get(f"{key}|{cls}", [])
            if len(sub) >= 3:
                out[f"{key}_{cls}"] = _geomedian(sub)
    return out


def write(constants: dict, path: Path) -> None:
    stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    machine = f"{platform.processor() or platform.machine()}, {jax.device_count()} device(s)"
    body = "{\n" + "".join(f"    {k!r}: {v!r},\n" for k, v in constants.items()) + "}"
    text = (
        '"""Machine constants of the cost model (generated by benchmarks/calibrate.py; do not '
        'edit).\n\n'
        f"Measured on: {machine}, jax {jax.__version__}, {stamp}.\n"
        '"""\n\n'
        f"CONSTANTS = {body}\n"
    )
    path.write_text(text)


def _rounded(c: dict) -> dict:
    return {k: (int(v) if k == "alloc_reuse_bytes" else float(f"{v:.3g}")) for k, v in c.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="print, do not write")
    parser.add_argument("--scales-only", action="store_true",
                        help="keep the machine constants, refit the algorithm scales")
    args = parser.parse_args(argv)
    c = dict(calibration.CONSTANTS)
    if args.scales_only:
        c = {k: v for k, v in c.items() if not k.startswith("scale_")}
        c.update(fit_scales())
        print({k: v for k, v in c.items() if k.startswith("scale_")}, flush=True)
        if args.dry_run:
            pprint.pprint(_rounded(c), sort_dicts=False)
        else:
            write(_rounded(c), TARGET)
            print(f"wrote {TARGET.relative_to(ROOT)}")
        return 0
    c = {k: v for k, v in c.items() if not k.startswith("scale_")}
    c["launch_seconds"] = launch_seconds()
    c["stream_bytes"] = stream_bytes()
    c["alloc_reuse_bytes"] = 32 * 2**20
    c["fault_bytes"] = fault_bytes(c["stream_bytes"], c["alloc_reuse_bytes"])
    print({k: c[k] for k in ("launch_seconds", "stream_bytes", "fault_bytes")}, flush=True)
    c.update(matmul_constants())
    print({k: v for k, v in c.items() if k.startswith("matmul")}, flush=True)
    c.update(fma_constants(c))
    print({k: v for k, v in c.items() if k.startswith("fma")}, flush=True)
    c.update(xla_constants(c))
    print({k: v for k, v in c.items() if k.startswith("xla")}, flush=True)
    if args.dry_run:
        pprint.pprint(_rounded(c), sort_dicts=False)
        return 0
    write(_rounded(c), TARGET)
    # the cost functions read the constants at import: fit the scales in a fresh process
    return subprocess.call([sys.executable, __file__, "--scales-only"])


if __name__ == "__main__":
    raise SystemExit(main())
