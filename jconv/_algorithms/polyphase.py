"""``polyphase``: a convolution of a zero-stuffed input, split into its phases.

Transposed convolutions (and the input gradient of a strided convolution) correlate an
input dilated by ``ld`` (``ld - 1`` zeros between samples): most products are with zeros.
Per spatial dim, with stride ``s``, kernel dilation ``d`` and low padding ``lo``, output
``p`` meets a real sample exactly when

    p s + t d - lo = 0  (mod ld).

Split the outputs by phase ``r = p mod P``, ``P = ld / gcd(s, ld)``. In phase ``r`` the
taps that meet real samples are ``t = t0 + m T`` (``T = ld / gcd(d, ld)``, ``t0`` the
smallest solution; none when ``gcd(d, ld)`` does not divide ``lo - r s``), and with
``p = q P + r``

    y[q P + r] = sum_m x[q s' + m d' + c0] w[t0 + m T],
    s' = s / gcd(s, ld),  d' = d / gcd(d, ld),  c0 = (r s + t0 d - lo) / ld,

an ordinary convolution of the undilated input with the sub-kernel ``w[t0::T]`` (stride
``s'``, dilation ``d'``, padding ``-c0`` below). Each phase is computed by the cheapest
other algorithm (the selector's choice, ``ctx.choose``) and the phases are interleaved
into the output. This does exactly the
products with real samples, ``1 / ld`` of the dilated sum per dim. Exact for integers.

The phases all read the same input. When their sub-kernels are long (a kernel gradient,
whose "kernel" is the output cotangent) they can run as one convolution: each phase's
sub-kernel shifted by ``(c0 - c0_min) / d'`` taps into a common window (zeros around it),
the phases stacked along the output channels. The products grow by the zeros
(``MERGE_WASTE`` at most) but one wide product replaces ``P`` narrow ones; both are
forms of the plan, and the selector runs the cheaper.
"""

from __future__ import annotations

import dataclasses
import itertools
import math

import jax.numpy as jnp
import numpy as np

from .._spec import ConvSpec
from . import Algorithm, Form
from ._common import compute_itemsize, effective_kernel, fault_seconds, relayout_bytes


@dataclasses.dataclass(frozen=True)
class _DimPhase:
    """One phase of one spatial dim: outputs ``q P + r``, taps ``t0 + m T``."""

    count: int        # outputs in this phase (Q_r)
    tap0: int         # first tap
    ntaps: int        # taps in the sub-kernel (0: the phase is all zeros)
    stride: int       # s'
    dilation: int     # d'
    offset: int       # c0: input index of (q = 0, m = 0)


def _dim_phases(size, k, o, s, ld, d, lo) -> tuple[int, list[_DimPhase]]:
    period = ld // math.gcd(s, ld)
    h = math.gcd(d, ld)
    step = ld // h
    out = []
    for r in range(period):
        count = max(0, -(-(o - r) // period))
        rhs = (lo - r * s) % ld
        t0, ntaps = 0, 0
        if rhs % h == 0:
            # t d = rhs (mod ld)  <=>  t (d/h) = rhs/h (mod ld/h)
            t0 = (rhs // h) * pow(d // h, -1, step) % step if step > 1 else 0
            ntaps = max(0, -(-(k - t0) // step))
        offset = (r * s + t0 * d - lo) // ld if ntaps else 0
        sub_s, sub_d = s // math.gcd(s, ld), d // h
        if ntaps and count:
            first = offset
            last = offset + (count - 1) * sub_s + (ntaps - 1) * sub_d
            if last < 0 or first >= size:  # reads only padding
                ntaps = 0
        out.append(_DimPhase(count, t0, ntaps, sub_s, sub_d, offset))
    return period, out


def _plan(spec: ConvSpec):
    """Per dim: (period, phases)."""
    return [
        _dim_phases(n, k, o, s, ld, d, lo)
        for n, k, o, s, ld, d, (lo, _) in zip(
            spec.in_size, spec.kernel_size, spec.out_size, spec.stride,
            spec.lhs_dilation, spec.rhs_dilation, spec.padding,
        )
    ]


def _padding(n: int, count: int, stride: int, ntaps: int, dilation: int, lo: int):
    """``(lo, hi)`` around ``n`` samples for exactly ``count`` outputs of a window of
    ``ntaps`` taps (dilated by ``dilation``) at ``stride``; negative values crop."""
    extent = (count - 1) * stride + (ntaps - 1) * dilation + 1
    return (lo, extent - n - lo)


def _sub_spec(spec: ConvSpec, phases: tuple[_DimPhase, ...]) -> ConvSpec:
    """The undilated convolution computing one phase (all its dims non-empty)."""
    pads = [_padding(n, ph.count, ph.stride, ph.ntaps, ph.dilation, -ph.offset)
            for n, ph in zip(spec.in_size, phases)]
    return dataclasses.replace(
        spec,
        in_size=spec.in_size,
        kernel_size=tuple(ph.ntaps for ph in phases),
        stride=tuple(ph.stride for ph in phases),
        padding=tuple(pads),
        lhs_dilation=(1,) * spec.ndim,
        rhs_dilation=tuple(ph.dilation for ph in phases),
        flip=False,
    )


def _phase_specs(spec: ConvSpec):
    """Every phase: (residues, sub-spec or None for an all-zero phase, per-dim phases)."""
    plan = _plan(spec)
    out = []
    for combo in itertools.product(*(range(period) for period, _ in plan)):
        phases = tuple(plan[i][1][r] for i, r in enumerate(combo))
        if any(ph.count == 0 for ph in phases):
            continue
        empty = any(ph.ntaps == 0 for ph in phases)
        out.append((combo, None if empty else _sub_spec(spec, phases), phases))
    return plan, out


MERGE_WASTE = 1.5  # the most products of the merged form per product of the phases


def _merged(spec: ConvSpec, phases):
    """The one convolution computing every non-empty phase, or None when they differ
    in stride or dilation, the dilation does not divide their offsets' differences, or
    the common window wastes more than `MERGE_WASTE`.

    Returns ``(sub, shifts, window)``: ``sub`` computes every phase's outputs (the most
    any phase has) with ``P Co`` output channels; per phase and dim, its sub-kernel's
    shift into the ``window`` of taps.
    """
    live = [dims for _, sub, dims in phases if sub is not None]
    if len(live) < 2:
        return None
    lows, window, shifts = [], [], [[] for _ in live]
    for i in range(spec.ndim):
        per_dim = [dims[i] for dims in live]
        stride, dilation = per_dim[0].stride, per_dim[0].dilation
        if any(ph.stride != stride or ph.dilation != dilation for ph in per_dim):
            return None
        lo = max(-ph.offset for ph in per_dim)
        if any((lo + ph.offset) % dilation for ph in per_dim):
            return None
        for k, ph in enumerate(per_dim):
            shifts[k].append((lo + ph.offset) // dilation)
        window.append(max(sh[-1] + ph.ntaps for sh, ph in zip(shifts, per_dim)))
        lows.append(lo)
    useful = sum(math.prod(ph.ntaps for ph in dims) for dims in live)
    if len(live) * math.prod(window) > MERGE_WASTE * useful:
        return None
    pads = [
        _padding(n, max(dims[i].count for dims in live), live[0][i].stride, window[i],
                 live[0][i].dilation, lows[i])
        for i, n in enumerate(spec.in_size)
    ]
    sub = dataclasses.replace(
        spec,
        out_channels=len(live) * spec.out_channels,
        kernel_size=tuple(window),
        stride=tuple(ph.stride for ph in live[0]),
        padding=tuple(pads),
        lhs_dilation=(1,) * spec.ndim,
        rhs_dilation=tuple(ph.dilation for ph in live[0]),
        flip=False,
    )
    return sub, [tuple(sh) for sh in shifts], tuple(window)


def _refusal(spec: ConvSpec) -> str | None:
    if all(ld == 1 for ld in spec.lhs_dilation):
        return "the input is not dilated (lhs_dilation is 1), so there are no phases to split"
    if math.prod(period for period, _ in _plan(spec)) > 4096:
        return "more than 4096 phases"
    return None


def plan(spec: ConvSpec, ctx):
    """Two forms: the phases apart, each run by its own choice, and (when `_merged`
    allows) every phase as one convolution. Both are keyed ``polyphase``: the raw
    estimate is the phases' calibrated estimates plus the interleave."""
    reason = _refusal(spec)
    if reason:
        return reason
    c = ctx.constants
    dims, phases = _phase_specs(spec)
    live = [(combo, sub, ph) for combo, sub, ph in phases if sub is not None]
    y_bytes = compute_itemsize(spec) * math.prod(spec.y_shape)
    extra = c["launch_seconds"] * 2 + 2 * y_bytes / c["stream_bytes"]
    # the phase outputs, stacked and interleaved, and the sub-kernels, next to the phases'
    # workspaces: XLA computes the phases first, so their scratch is live at once, in one
    # block whose pages may fault though no phase's own would
    room = 2 * y_bytes + relayout_bytes(spec)

    def faults(parts):
        return max(0.0, fault_seconds(sum(parts) + room, c)
                   - sum(fault_seconds(p, c) for p in parts))

    inner = {combo: ctx.choose(sub) for combo, sub, _ in live}
    names = [inner[combo].name for combo, _, _ in live]
    counts = ", ".join(f"{n} x{names.count(n)}" for n in dict.fromkeys(names))
    zero = len(phases) - len(live)
    scratch = [ch.workspace for ch in inner.values()]
    forms = [Form(
        "polyphase",
        sum(ch.seconds for ch in inner.values()) + extra + faults(scratch),
        sum(scratch) + room,
        lambda x, w, p: run(x, w, spec, dims, phases, inner, None, p),
        f"{len(phases)} phases ({counts}{f', {zero} all-zero' if zero else ''})",
    )]
    merged = _merged(spec, phases)
    if merged is not None:
        one = ctx.choose(merged[0])
        forms.append(Form(
            "polyphase", one.seconds + extra + faults([one.workspace]),
            one.workspace + room,
            lambda x, w, p: run(x, w, spec, dims, phases, None, (merged, one), p),
            f"{len(phases)} phases merged into one convolution ({one.name}, "
            f"{len(live)} x the channels)",
        ))
    return tuple(forms)


def run(x, w, spec: ConvSpec, plan, phases, inner, merged, precision=None):
    """The phases of ``spec`` (`_phase_specs`), each by its choice in ``inner``, or all
    as one convolution, ``merged = ((sub, shifts, window), choice)``."""
    w = effective_kernel(w, spec)
    periods = [period for period, _ in plan]
    qmax = [-(-o // period) for o, period in zip(spec.out_size, periods)]
    n, g, co = spec.batch, spec.groups, spec.out_channels

    def sub_kernel(dims):
        index = tuple(
            slice(ph.tap0, ph.tap0 + (ph.ntaps - 1) * _tap_step(spec, i) + 1, _tap_step(spec, i))
            for i, ph in enumerate(dims)
        )
        return w[(slice(None),) * 3 + index]

    outputs = {}
    if merged is not None:  # every phase's sub-kernel shifted into the common window
        (sub, shifts, window), one = merged
        live = [(combo, dims) for combo, s, dims in phases if s is not None]
        kernels = [
            jnp.pad(sub_kernel(dims), [(0, 0)] * 3 + [
                (sh, k - sh - ph.ntaps) for sh, k, ph in zip(shift, window, dims)])
            for (_, dims), shift in zip(live, shifts)
        ]
        y = one.run(x, jnp.concatenate(kernels, axis=1), precision)
        y = y.reshape(n, g, len(live), co, *sub.out_size)
        for k, (combo, dims) in enumerate(live):
            outputs[combo] = y[(slice(None), slice(None), k, slice(None)) + tuple(
                slice(0, ph.count) for ph in dims)]
    blocks = {}
    for combo, sub, dims in phases:
        shape = (n, g, co, *(ph.count for ph in dims))
        if sub is None:
            y = jnp.zeros(shape, x.dtype)
        elif combo in outputs:
            y = outputs[combo]
        else:
            y = inner[combo].run(x, sub_kernel(dims), precision)
        pads = [(0, 0)] * 3 + [(0, q - ph.count) for q, ph in zip(qmax, dims)]
        blocks[combo] = jnp.pad(y, pads) if any(p[1] for p in pads) else y
    zero = jnp.zeros((n, g, co, *qmax), x.dtype)
    stacked = jnp.stack(
        [blocks.get(combo, zero) for combo in itertools.product(*(range(p) for p in periods))]
    ).reshape(*periods, n, g, co, *qmax)
    nd = spec.ndim
    # (R_1..R_nd, N, G, Co, Q_1..Q_nd) -> (N, G, Co, Q_1, R_1, ..., Q_nd, R_nd)
    order = [nd, nd + 1, nd + 2] + [a for i in range(nd) for a in (nd + 3 + i, i)]
    y = jnp.transpose(stacked, order).reshape(
        n, g, co, *(q * p for q, p in zip(qmax, periods))
    )
    return y[(slice(None),) * 3 + tuple(slice(0, o) for o in spec.out_size)]


def _tap_step(spec: ConvSpec, i: int) -> int:
    """T = ld / gcd(d, ld) in spatial dim ``i``."""
    ld, d = spec.lhs_dilation[i], spec.rhs_dilation[i]
    return ld // math.gcd(d, ld)


def phase_count(spec: ConvSpec) -> int:
    """Number of phases (for explain): the product of the per-dim periods."""
    return int(np.prod([period for period, _ in _plan(spec)]))


ALGORITHM = Algorithm(
    "polyphase",
    "transposed convolution split into ld^n stride-1 phases with sub-kernels (no zeros)",
    ("polyphase",),
    plan,
)
