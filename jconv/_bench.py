"""Benchmark cases and the side-by-side timing of jconv against its peers.

The logic behind ``jconv bench``; ``benchmarks/run.py`` adds rounds, the machine's
limit, a table and a chart on top of it. Each case is a convolution layer, a transposed
convolution or a signal convolution, given once; `jconv_fn`, `lax_fn` and `torch_fn`
build its jconv, ``jax.lax`` and PyTorch versions. A pass (forward, or forward plus
backward with the cotangent as an argument, as in training) is timed for every peer in
one process, interleaved call by call in a rotating order, after a warm-up call that
compiles; each time reported is the median of the timed calls. ``flops`` counts the
useful multiply-adds of the forward pass (no products with inserted zeros), times two.
"""

from __future__ import annotations

import dataclasses
import math
import os
import statistics
import time
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ._conv import conv, conv_transpose, convolve, explain
from ._select import explain_spec
from ._spec import signal_plan

PASSES = ("forward", "forward+backward")


@dataclasses.dataclass(frozen=True)
class Case:
    """One benchmark case: a layer's shapes and arguments, and a one-line title."""

    name: str
    title: str
    kind: str                      # "conv", "conv_transpose" or "signal"
    x_shape: tuple[int, ...]
    w_shape: tuple[int, ...]
    stride: int = 1
    padding: int = 0
    dilation: int = 1
    groups: int = 1
    output_padding: int = 0
    dtype: str = "float32"

    @property
    def ndim(self) -> int:
        """The number of spatial dimensions."""
        return len(self.x_shape) - (1 if self.kind == "signal" else 2)

    @property
    def flops(self) -> int:
        """2 x useful multiply-adds of the forward pass."""
        if self.kind == "signal":
            return 2 * math.prod(self.x_shape) * self.w_shape[-1]
        n, c_in = self.x_shape[:2]
        k = math.prod(self.w_shape[2:])
        if self.kind == "conv_transpose":
            c_out = self.w_shape[1] * self.groups
            return 2 * n * c_in * (c_out // self.groups) * math.prod(self.x_shape[2:]) * k
        c_out = self.w_shape[0]
        out = [
            (s + 2 * self.padding - self.dilation * (kk - 1) - 1) // self.stride + 1
            for s, kk in zip(self.x_shape[2:], self.w_shape[2:])
        ]
        return 2 * n * c_out * (c_in // self.groups) * k * math.prod(out)


CASES = [
    Case("dense3x3", "dense 3x3, 64->64, 56x56, N=8", "conv",
         (8, 64, 56, 56), (64, 64, 3, 3), padding=1),
    Case("pointwise", "pointwise 1x1, 128->256, 28x28, N=8", "conv",
         (8, 128, 28, 28), (256, 128, 1, 1)),
    Case("grouped", "grouped 3x3 (ResNeXt, 32 groups of 4), 128ch, 28x28, N=8", "conv",
         (8, 128, 28, 28), (128, 4, 3, 3), padding=1, groups=32),
    Case("depthwise3x3", "depthwise 3x3, 64ch, 56x56, N=8", "conv",
         (8, 64, 56, 56), (64, 1, 3, 3), padding=1, groups=64),
    Case("depthwise31", "depthwise 31x31, 64ch, 32x32, N=4", "conv",
         (4, 64, 32, 32), (64, 1, 31, 31), padding=15, groups=64),
    Case("dense15", "dense 15x15, 16->16, 64x64, N=4", "conv",
         (4, 16, 64, 64), (16, 16, 15, 15), padding=7),
    Case("signal1d", "1-D signal 65536 * kernel 2048 (full), batch 4", "signal",
         (4, 65536), (1, 2048)),
    Case("multichannel1d", "1-D 64->64 channels, k=9, length 4096, N=8", "conv",
         (8, 64, 4096), (64, 64, 9), padding=4),
    Case("conv3d", "3-D 3x3x3, 32->32, 16x32x32, N=2", "conv",
         (2, 32, 16, 32, 32), (32, 32, 3, 3, 3), padding=1),
    Case("float64", "float64 dense 3x3, 64->64, 28x28, N=8", "conv",
         (8, 64, 28, 28), (64, 64, 3, 3), padding=1, dtype="float64"),
    Case("strided", "strided 3x3 s=2, 64->128, 56x56, N=8", "conv",
         (8, 64, 56, 56), (128, 64, 3, 3), stride=2, padding=1),
    Case("transposed", "transposed 4x4 s=2, 128->64, 16x16 -> 32x32, N=8", "conv_transpose",
         (8, 128, 16, 16), (128, 64, 4, 4), stride=2, padding=1),
]

# too small to say anything about speed: a quick check that the harness runs
SMOKE = [
    Case("tiny", "tiny dense 3x3, 4->4, 16x16, N=1 (checks the harness, not speed)", "conv",
         (1, 4, 16, 16), (4, 4, 3, 3), padding=1),
]

BY_NAME = {c.name: c for c in CASES + SMOKE}


# -- the peers ---------------------------------------------------------------------------


def jconv_fn(case: Case, algorithm: str = "auto") -> Callable:
    """``f(x, w)``: the case computed by jconv with ``algorithm``."""
    nd = case.ndim
    if case.kind == "signal":
        return lambda a, b: convolve(a, b, "full", axes=-1, method=algorithm)
    if case.kind == "conv_transpose":
        return lambda x, w: conv_transpose(
            x, w, stride=case.stride, padding=case.padding, output_padding=case.output_padding,
            dilation=case.dilation, groups=case.groups, algorithm=algorithm,
        )
    return lambda x, w: conv(
        x, w, stride=case.stride, padding=case.padding, dilation=(case.dilation,) * nd,
        groups=case.groups, algorithm=algorithm,
    )


def lax_fn(case: Case) -> Callable:
    """``f(x, w)``: the case computed by ``jax.lax.conv_general_dilated``."""
    nd = case.ndim
    if case.kind == "signal":
        k = case.w_shape[-1]

        def f(a, b):
            y = lax.conv_general_dilated(
                a[:, None], jnp.flip(b, -1)[None], (1,), [(k - 1, k - 1)]
            )
            return y[:, 0]

        return f
    if case.kind == "conv_transpose":
        d, s, p, k = case.dilation, case.stride, case.padding, case.w_shape[2:]
        g = case.groups

        def f(x, w):
            # (C_in, C_out/G, *K) -> (C_out, C_in/G, *K), flipped: the usual lax recipe
            cin, cog = w.shape[:2]
            wt = w.reshape(g, cin // g, cog, *k).swapaxes(1, 2).reshape(g * cog, cin // g, *k)
            wt = jnp.flip(wt, tuple(range(2, 2 + nd)))
            pads = [(d * (kk - 1) - p, d * (kk - 1) - p + case.output_padding) for kk in k]
            return lax.conv_general_dilated(
                x, wt, (1,) * nd, pads, lhs_dilation=(s,) * nd, rhs_dilation=(d,) * nd,
                feature_group_count=g,
            )

        return f
    return lambda x, w: lax.conv_general_dilated(
        x, w, (case.stride,) * nd, [(case.padding, case.padding)] * nd,
        rhs_dilation=(case.dilation,) * nd, feature_group_count=case.groups,
    )


def import_torch():
    """PyTorch (CPU, one thread per core, threads that do not spin on JAX's cores), or
    None when it is not installed."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(os.cpu_count() or 1)
    return torch


def torch_fn(case: Case, torch) -> Callable:
    """``f(x, w)``: the case computed by ``torch.nn.functional``."""
    F = torch.nn.functional
    nd = case.ndim
    if case.kind == "signal":
        k = case.w_shape[-1]
        return lambda a, b: F.conv1d(a[:, None], torch.flip(b, (1,))[None], padding=k - 1)[:, 0]
    if case.kind == "conv_transpose":
        f = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[nd - 1]
        return lambda x, w: f(
            x, w, stride=case.stride, padding=case.padding, output_padding=case.output_padding,
            groups=case.groups, dilation=case.dilation,
        )
    f = (F.conv1d, F.conv2d, F.conv3d)[nd - 1]
    return lambda x, w: f(
        x, w, stride=case.stride, padding=case.padding, dilation=case.dilation, groups=case.groups
    )


def jax_runners(fn: Callable, x, w, ct) -> tuple[Callable, Callable]:
    """Zero-argument calls of the compiled forward and forward+backward passes of ``fn``,
    each waiting for its result."""
    fwd = jax.jit(fn)

    def both(a, b, c):  # the cotangent is an argument, as in training, not a constant
        y, pull = jax.vjp(fn, a, b)
        return (y, *pull(c))

    fb = jax.jit(both)
    return (
        lambda: jax.block_until_ready(fwd(x, w)),
        lambda: jax.block_until_ready(fb(x, w, ct)),
    )


def torch_runners(fn: Callable, torch, x, w, ct) -> tuple[Callable, Callable]:
    """Zero-argument calls of PyTorch's forward (no autograd) and forward+backward passes."""
    xt, wt, ctt = (torch.from_numpy(np.array(a)) for a in (x, w, ct))
    xg, wg = xt.clone().requires_grad_(True), wt.clone().requires_grad_(True)

    def fwd():
        with torch.no_grad():
            return fn(xt, wt)

    def fb():
        xg.grad = wg.grad = None
        y = fn(xg, wg)
        y.backward(ctt)
        return y, xg.grad, wg.grad

    return fwd, fb


def scipy_runner(x, w) -> Callable | None:
    """``scipy.signal.convolve`` of a signal case (forward only), or None without SciPy."""
    try:
        import scipy.signal as sps
    except ImportError:
        return None
    a, b = np.asarray(x), np.asarray(w)  # b is (1, K): convolve along the last axis
    return lambda: sps.convolve(a, b, mode="full")


# -- timing ------------------------------------------------------------------------------


def first_call(f: Callable) -> float:
    """Seconds of one call (the first one includes tracing and compiling)."""
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


def interleaved(runners: dict[str, Callable], min_runs: int, max_runs: int | None = None,
                budget: float = 0.0, pause: float = 0.0) -> dict[str, dict]:
    """The median, least and number of timed calls (seconds) of each runner.

    Every runner is called once to warm up (compile), then the runners are called in
    turn, one call each per round, in an order that rotates every round. ``min_runs``
    calls are timed per runner, or up to ``max_runs`` while the rounds fit in ``budget``
    seconds.
    """
    for f in runners.values():  # warm-up (compiles)
        f()
    times = {name: [first_call(f)] for name, f in runners.items()}
    total = sum(ts[0] for ts in times.values())
    rounds = max(min_runs, min(max_runs or min_runs, int(budget / max(total, 1e-6))))
    names = list(runners)
    for r in range(rounds - 1):
        order = names[r % len(names):] + names[: r % len(names)]
        for name in order:
            if pause:
                time.sleep(pause)
            times[name].append(first_call(runners[name]))
    return {
        name: {"median": statistics.median(ts), "min": min(ts), "runs": len(ts)}
        for name, ts in times.items()
    }


def operands(case: Case, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Random ``x``, ``w`` and a cotangent of the output's shape, as NumPy arrays."""
    dtype = np.dtype(case.dtype)
    x = rng.standard_normal(case.x_shape).astype(dtype)
    w = rng.standard_normal(case.w_shape).astype(dtype)
    y = jax.eval_shape(jconv_fn(case), jax.ShapeDtypeStruct(x.shape, dtype),
                       jax.ShapeDtypeStruct(w.shape, dtype)).shape
    ct = rng.standard_normal(tuple(int(v) for v in y)).astype(dtype)
    return x, w, ct


def _explain(case: Case, algorithm: str = "auto"):
    """`jconv.explain` (or its signal twin) for ``case`` under ``algorithm``."""
    if case.kind == "signal":  # the canonical convolution that jconv.convolve runs
        spec = signal_plan(
            "jconv.convolve", case.x_shape, case.w_shape, "full", -1, np.dtype(case.dtype)
        ).spec
        return explain_spec("jconv.convolve", spec, algorithm, differentiable=True)
    return explain(
        case.x_shape, case.w_shape, transpose=case.kind == "conv_transpose", dtype=case.dtype,
        algorithm=algorithm, stride=case.stride, padding=case.padding, groups=case.groups,
        **({"output_padding": case.output_padding} if case.kind == "conv_transpose"
           else {"dilation": case.dilation}),
    )


def plan_of(case: Case) -> dict[str, str]:
    """The algorithm jconv chooses for each pass: ``{role: name}``."""
    return {p.role: p.chosen for p in _explain(case).passes}


def refusal(case: Case, algorithm: str) -> str | None:
    """Why a forced ``algorithm`` cannot run every pass of ``case`` (None when it can)."""
    for p in _explain(case, algorithm).passes:
        if p.chosen is None:
            reason = next(c.reason for c in p.candidates if c.name == algorithm)
            return f"the {p.role.replace('_', ' ')} pass: {reason}"
    return None


def bench_case(case: Case, min_runs: int, max_runs: int | None = None, budget: float = 0.0,
               pause: float = 0.0, algorithms=(), torch=None, scipy: bool = True,
               passes=PASSES, on_pass: Callable[[str], None] | None = None) -> dict:
    """Time one case: jconv (``"auto"``, then each of ``algorithms`` forced), ``jax.lax``,
    PyTorch (the module ``torch``, when given) and, for a signal case's forward pass,
    SciPy; see `interleaved` for the timing.

    Returns:
        ``{"title", "flops", "plan", "first_call": {pass: s}, "passes": {pass: {runner:
        {"median", "min", "runs"}}}}``; jconv's first call (trace, compile, run) is made
        before anything else runs. ``on_pass(pass)`` is called before each pass is timed.
    """
    if case.dtype == "float64" and not jax.config.jax_enable_x64:
        raise ValueError(f"case {case.name!r} is float64: enable jax_enable_x64 first")
    x, w, ct = operands(case, np.random.default_rng(0))
    xj, wj, ctj = jnp.asarray(x), jnp.asarray(w), jnp.asarray(ct)
    result = {"title": case.title, "flops": case.flops, "plan": plan_of(case), "passes": {}}
    jf, jb = jax_runners(jconv_fn(case), xj, wj, ctj)
    result["first_call"] = {p: first_call(f) for p, f in zip(PASSES, (jf, jb)) if p in passes}
    peers = {"jconv": (jf, jb)}
    for name in algorithms:
        peers[f"jconv[{name}]"] = jax_runners(jconv_fn(case, name), xj, wj, ctj)
    peers["jax.lax"] = jax_runners(lax_fn(case), xj, wj, ctj)
    if torch is not None:
        peers["torch"] = torch_runners(torch_fn(case, torch), torch, x, w, ct)
    for i, pass_name in enumerate(PASSES):
        if pass_name not in passes:
            continue
        if on_pass is not None:
            on_pass(pass_name)
        runners = {name: pair[i] for name, pair in peers.items()}
        if scipy and case.kind == "signal" and pass_name == "forward":
            sp = scipy_runner(x, w)
            if sp is not None:
                runners["scipy"] = sp
        result["passes"][pass_name] = interleaved(runners, min_runs, max_runs, budget, pause)
    return result


def best_peer(timings: dict) -> tuple[str, float]:
    """The fastest runner that is not jconv, and its median seconds."""
    peers = {k: v["median"] for k, v in timings.items() if not k.startswith("jconv")}
    name = min(peers, key=peers.get)
    return name, peers[name]
