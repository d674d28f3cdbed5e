"""``taps``: the direct sum, unrolled over kernel taps or over output positions.

    y[n, g, :, p] = sum_t  w[g, :, :, t'] @ xe[n, g, :, p * s + t * d]

Four forms of the same sum; the selector picks the cheapest per spec:

* ``fma``: for small channel counts (depthwise, small groups) every (tap, input channel)
  pair is one broadcast multiply-add, ``y[n, g, o, :] += w[g, o, c, t'] * window[n, g, c, :]``,
  and the whole sum fuses into one loop over the output. With stride 1 the spatial axes
  are flattened onto one "wide" axis (every output row as wide as the padded input), so
  every window is one contiguous slice and the loop vectorises along it; the extra
  columns are cropped at the end. Large kernels loop over their first dim.
* ``dot``: for larger channel counts, one channel contraction per tap (a matrix product
  per image and group), accumulated.
* ``reduce``: when the output has few positions and the kernel many taps (the
  kernel-gradient pass, whose "kernel" is the output cotangent) and the channels are
  few, one fused multiply-reduce per output position; with kernel dilation 1 the kernel
  is widened to the input's row length so that every window is one contiguous slice.
* ``positions``: the same with many channels, one contraction per output position.

Exact for integers (only multiplies and adds in the operand dtype). The workspace is the
padded input, the (wide) output of the fused form, and for the ``dot`` and ``positions``
forms every window: XLA keeps the windows of an unrolled sum as separate buffers.
"""

from __future__ import annotations

import dataclasses
import math

import jax.numpy as jnp
from jax import lax

from .._spec import ConvSpec
from . import Algorithm, Form
from ._common import (
    compute_itemsize,
    dilate_and_pad,
    dtype_factor,
    effective_kernel,
    exact_products,
    fault_seconds,
    few_channels,
    flat_wide,
    position_window,
    positions,
    relayout_bytes,
    saturation,
    tap_window,
    taps,
    unwiden,
    used_extent,
    wide_fraction,
)

MAX_TERMS = 1024     # (tap, channel) terms of the fused form
UNROLL_TERMS = 128   # beyond this, the fused form loops over the first kernel dim
MAX_TAPS = 256       # unrolled taps of the dot form
MAX_POSITIONS = 256  # unrolled output positions of the reduce and positions forms


def _terms(spec: ConvSpec) -> int:
    return math.prod(spec.kernel_size) * spec.in_channels


def _flat_kernel(spec: ConvSpec) -> bool:
    """Whether the reduce form can widen the kernel (dilation 1, widening at most 2x)."""
    if any(d != 1 for d in spec.rhs_dilation):
        return False
    extent = used_extent(spec)
    wide = spec.kernel_size[0] * math.prod(extent[1:])
    return wide <= 2 * math.prod(spec.kernel_size)


def _form_costs(spec: ConvSpec, c) -> dict[str, tuple[float, int]]:
    """Raw (seconds, workspace) of every form this spec allows; ``c``: machine constants."""
    item = compute_itemsize(spec)
    n_taps = math.prod(spec.kernel_size)
    n_pos = math.prod(spec.out_size)
    rows = spec.batch * spec.groups
    y_bytes = item * rows * spec.out_channels * n_pos
    w_bytes = item * spec.groups * spec.out_channels * spec.in_channels * n_taps
    padded = item * rows * spec.in_channels * math.prod(spec.padded_size)
    relayout = relayout_bytes(spec)
    flops = 2 * spec.macs
    launch, stream = c["launch_seconds"], c["stream_bytes"]
    out = {}
    if _terms(spec) <= MAX_TERMS:
        wide = 1.0 / wide_fraction(spec) if all(s == 1 for s in spec.stride) else 1.0
        loops = 1 if _terms(spec) <= UNROLL_TERMS else spec.kernel_size[0]
        out["fma"] = (
            launch * (2 + loops)
            + flops * wide * dtype_factor(spec, "fma", c) / c["fma_flops"]
            + (2 * padded + loops * y_bytes * wide) / stream,
            padded + int(y_bytes * wide) + relayout,
        )
    if n_taps <= MAX_TAPS:
        rate = c["matmul_flops"] * saturation(spec.in_channels, c["matmul_half"]) * saturation(
            spec.out_channels, c["matmul_half"]
        ) * saturation(n_pos, c["matmul_half"])
        window = item * rows * spec.in_channels * n_pos
        out["dot"] = (
            n_taps * launch * 3
            + flops * dtype_factor(spec, "matmul", c) / rate
            + (padded + n_taps * (window * 2 + y_bytes * 2)) / stream,
            padded + n_taps * window + relayout,
        )
    if n_pos <= MAX_POSITIONS and n_pos * spec.in_channels <= MAX_TERMS:
        if _flat_kernel(spec):
            wide = spec.kernel_size[0] * math.prod(used_extent(spec)[1:]) / n_taps
        else:
            wide = 1.0
        partial = int(item * rows * spec.out_channels * n_pos * n_taps * wide)
        out["reduce"] = (
            launch * 4
            + flops * wide * dtype_factor(spec, "fma", c) / c["fma_flops"]
            + (2 * padded + w_bytes + 2 * partial) / stream
            + fault_seconds(partial + padded, c),
            partial + padded + relayout,
        )
    if n_pos <= MAX_POSITIONS:
        depth = spec.in_channels * n_taps
        rate = c["matmul_flops"] * saturation(depth, c["matmul_half"]) * saturation(
            spec.out_channels, c["matmul_half"]
        ) * saturation(spec.batch, c["matmul_half"])
        window = item * rows * depth
        out["positions"] = (
            n_pos * launch * 3
            + flops * dtype_factor(spec, "matmul", c) / rate
            + (padded + n_pos * (window * 2 + w_bytes)) / stream,
            padded + n_pos * window + relayout,
        )
    return out


def _fast_fused(spec: ConvSpec) -> bool:
    """The fused form at its fastest, with a calibrated scale of its own (``taps.fma_few``):
    few channels (`few_channels`), stride 1 and no input dilation (every window one
    contiguous slice of the wide rows) and every term unrolled into one pass over the
    output."""
    return (
        few_channels(spec)
        and all(s == 1 for s in spec.stride)
        and all(d == 1 for d in spec.lhs_dilation)
        and _terms(spec) <= UNROLL_TERMS
    )


def plan(spec: ConvSpec, ctx):
    """Every form the spec allows, or why none does."""
    costs = _form_costs(spec, ctx.constants)
    if not costs:
        return (
            f"the kernel has {math.prod(spec.kernel_size)} taps and the output "
            f"{math.prod(spec.out_size)} positions; this unrolled sum allows at most "
            f"{MAX_TAPS} taps ({MAX_TERMS} taps times input channels) or {MAX_POSITIONS} "
            f"positions"
        )
    forms = []
    for form, (seconds, workspace) in costs.items():
        key = "taps.fma_few" if form == "fma" and _fast_fused(spec) else f"taps.{form}"
        forms.append(Form(key, seconds, workspace,
                          lambda x, w, p, form=form: run_form(form, x, w, spec, p),
                          f"{form} form", exact_products(spec)))
    return tuple(forms)


def _fma(xe, w, spec: ConvSpec):
    """Broadcast multiply-adds fused into one loop over the (wide) output.

    Up to `UNROLL_TERMS` terms are unrolled; beyond that a loop runs over the first kernel
    dim and unrolls the rest (the output is then accumulated once per kernel row).
    """
    n, g, ci = xe.shape[:3]
    co = spec.out_channels
    k1, rest = spec.kernel_size[0], spec.kernel_size[1:]
    stride1 = all(s == 1 for s in spec.stride)
    wt = w.reshape(g, co, ci, k1, -1)
    if stride1:
        xf, offsets, length = flat_wide(xe, spec)
        row = offsets[len(offsets) // k1] if k1 > 1 else 0  # flat offset of one kernel row
        inner = offsets[: len(offsets) // k1]
        nsp = 1

        def window(base, j):
            return lax.dynamic_slice_in_dim(xf, base + inner[j], length, axis=3)
    else:
        d1, s1 = spec.rhs_dilation[0], spec.stride[0]
        sub = dataclasses.replace(
            spec, kernel_size=(1, *rest), in_size=(1,) * spec.ndim, padding=((0, 0),) * spec.ndim
        )
        inner = list(taps(sub))
        row = d1
        nsp = spec.ndim
        height = (spec.out_size[0] - 1) * s1 + 1

        def window(base, j):
            block = lax.dynamic_slice_in_dim(xe, base, height, axis=3)
            return tap_window(block, spec, inner[j])

    def row_sum(i, wrow):
        base = i * row
        y = None
        for j in range(len(inner)):
            win = window(base, j)
            for c in range(ci):
                term = win[:, :, c : c + 1] * wrow[:, :, c, j].reshape(1, g, co, *([1] * nsp))
                y = term if y is None else y + term
        return y

    if _terms(spec) <= UNROLL_TERMS or k1 == 1:
        y = None
        for i in range(k1):
            part = row_sum(i, wt[:, :, :, i])
            y = part if y is None else y + part
    else:
        first = row_sum(0, wt[:, :, :, 0])

        def body(i, acc):
            return acc + row_sum(i, lax.dynamic_index_in_dim(wt, i, axis=3, keepdims=False))

        y = lax.fori_loop(1, k1, body, first)
    return unwiden(y, spec) if stride1 else y


def _dot(xe, w, spec: ConvSpec, precision):
    """Per tap, ``(Co, Ci) @ (Ci, O)`` for every image and group, accumulated."""
    n, g, ci = xe.shape[:3]
    co = spec.out_channels
    y = None
    for t in taps(spec):
        win = tap_window(xe, spec, t).reshape(n, g, ci, -1)
        wt = jnp.broadcast_to(w[(..., *t)], (n, g, co, ci))
        term = lax.dot_general(wt, win, (((3,), (2,)), ((0, 1), (0, 1))), precision=precision)
        y = term if y is None else y + term
    return y.reshape(spec.y_shape)


def _position_windows(xe, w, spec: ConvSpec):
    """Per output position, the window of ``xe`` the kernel meets, and the kernel to match.

    With kernel dilation 1 the kernel is widened to the rows of ``xe`` (zeros past ``K``)
    and each window is one contiguous slice of the flattened ``xe``; otherwise each
    window is a strided N-d slice. Returns ``(windows, kernel)`` with the tap axes of both
    flattened to one.
    """
    n, g, ci = xe.shape[:3]
    if not _flat_kernel(spec):
        wins = [position_window(xe, spec, p).reshape(n, g, ci, -1) for p in positions(spec)]
        return wins, w.reshape(*w.shape[:3], -1)
    extent = used_extent(spec)
    if tuple(xe.shape[3:]) != extent:
        xe = lax.slice(xe, [0] * xe.ndim, [n, g, ci, *extent])
    strides = [math.prod(extent[k + 1:]) for k in range(spec.ndim)]
    pads = [(0, 0)] * 4 + [(0, e - k) for e, k in zip(extent[1:], spec.kernel_size[1:])]
    wf = jnp.pad(w, pads).reshape(*w.shape[:3], -1)
    length = wf.shape[-1]
    offsets = [sum(pk * s * r for pk, s, r in zip(p, spec.stride, strides))
               for p in positions(spec)]
    xf = xe.reshape(n, g, ci, -1)
    need = max(offsets) + length - xf.shape[-1]
    if need > 0:
        xf = jnp.pad(xf, [(0, 0)] * 3 + [(0, need)])
    return [lax.slice_in_dim(xf, off, off + length, axis=3) for off in offsets], wf


def _reduce(xe, w, spec: ConvSpec):
    """Per output position, fused multiply-adds over the channels, then one reduction.

    Stage one is a single loop over ``(N, G, Co, P, taps)`` summing the ``Ci`` channel
    products (vectorised along the contiguous taps); stage two reduces the taps axis.
    """
    wins, wf = _position_windows(xe, w, spec)
    ci = wf.shape[2]
    parts = []
    for win in wins:
        acc = None
        for c in range(ci):
            term = win[:, :, c, None] * wf[None, :, :, c]
            acc = term if acc is None else acc + term
        parts.append(acc)  # (N, G, Co, taps)
    y = jnp.sum(jnp.stack(parts, axis=0), axis=-1, dtype=wf.dtype)  # (P, N, G, Co)
    return jnp.moveaxis(y, 0, -1).reshape(spec.y_shape)


def _positions(xe, w, spec: ConvSpec, precision):
    """Per output position, ``(N, Ci K) @ (Ci K, Co)`` for every group."""
    wins, wf = _position_windows(xe, w, spec)
    g, co = wf.shape[:2]
    wm = wf.reshape(g, co, -1)
    cols = [
        lax.dot_general(
            win.reshape(*win.shape[:2], -1), wm, (((2,), (2,)), ((1,), (0,))),
            precision=precision,
        )  # (G, N, Co)
        for win in wins
    ]
    # stacked on a leading axis, then one transpose: stacking on the last axis writes
    # each product with a stride of P, which XLA's CPU code runs several times slower (a
    # kernel gradient 256 x 1 x 8 x 8 -> 512 channels, 3 x 3 positions: 6.0 ms against 1.3)
    y = jnp.stack(cols, axis=0)  # (P, G, N, Co)
    return jnp.transpose(y, (2, 1, 3, 0)).reshape(spec.y_shape)


def run_form(form: str, x, w, spec: ConvSpec, precision=None):
    """Compute ``spec`` with one named form (it must be among `_form_costs`'s keys)."""
    xe = dilate_and_pad(x, spec)
    w = effective_kernel(w, spec)
    if form == "fma":
        return _fma(xe, w, spec)
    if form == "dot":
        return _dot(xe, w, spec, precision)
    if form == "reduce":
        return _reduce(xe, w, spec)
    return _positions(xe, w, spec, precision)


ALGORITHM = Algorithm(
    "taps",
    "direct sum unrolled over kernel taps (fused multiply-adds for few channels) or over "
    "output positions",
    ("taps.fma", "taps.fma_few", "taps.dot", "taps.reduce", "taps.positions"),
    plan,
)
