"""``im2col``: unfold the input into patches, then one batched matrix product per group.

    P[n, g, (c, t), p] = xe[n, g, c, p * s + t * d]          (the patches, "im2col")
    y[n, g, o, p]      = sum_{(c, t)} W[g, o, (c, t)] P[n, g, (c, t), p]

This is the matrix form of the convolution made concrete: per group, a
``(Co, Ci K) @ (Ci K, N O)`` product, which runs at matrix-multiply speed when the
channel counts are large. The patches are built from whichever is shorter, the kernel
taps (one strided window of the whole output per tap) or the output positions (one window
of the whole kernel per position, the shape of the kernel-gradient pass, whose "kernel"
is the output cotangent). The workspace is twice their bytes (the stacked windows and
the reshaped matrix) and the re-laid operands. Exact for integers.

A kernel-gradient-shaped spec whose input is dilated (the kernel gradient of a transposed
convolution) would unfold the inserted zeros too. At stride 1 and kernel dilation 1,
output ``p`` meets sample ``i`` through tap ``t = ld i + lo - p``: with ``p' = O - 1 - p``,

    y[n, g, o, O - 1 - p'] = sum_{c, i} we[g, o, c, p' + ld i] x[n, g, c, i],

``we`` the kernel padded by ``O - 1 - lo`` below and ``O - 1 - hi`` above. That is a
convolution of the kernel (the input now) by the undilated input (the kernel now,
dilated by ``ld``) without a single zero product; it runs unfolded as above (`_swapped`).
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
    forward_shaped,
    largest_divisor,
    map_chunks,
    relayout_bytes,
    saturation,
    sum_chunks,
)

MAX_SLICES = 2048  # windows taken, summed over the spatial dims (unrolled at trace time)


def _swapped(spec: ConvSpec) -> ConvSpec | None:
    """The spec with input and kernel exchanged (see the module docstring), for a
    kernel-gradient-shaped spec of a dilated input at stride 1 and kernel dilation 1;
    None for every other spec."""
    if (
        forward_shaped(spec) or all(ld == 1 for ld in spec.lhs_dilation)
        or any(s != 1 for s in spec.stride) or any(d != 1 for d in spec.rhs_dilation)
    ):
        return None
    nd = spec.ndim
    return dataclasses.replace(
        spec,
        batch=spec.out_channels,
        out_channels=spec.batch,
        in_size=spec.kernel_size,
        kernel_size=spec.in_size,
        padding=tuple((o - 1 - lo, o - 1 - hi) for o, (lo, hi) in zip(spec.out_size, spec.padding)),
        lhs_dilation=(1,) * nd,
        rhs_dilation=spec.lhs_dilation,
        flip=False,
    )


def _by_taps(spec: ConvSpec) -> bool:
    """Unfold by kernel taps when they are the shorter side, else by output positions."""
    return forward_shaped(spec)


def _slices(spec: ConvSpec) -> int:
    """Windows the dim-by-dim unfolding takes: one per tap (or position) per spatial dim."""
    return sum(spec.kernel_size) if _by_taps(spec) else sum(spec.out_size)


def _refusal(spec: ConvSpec) -> str | None:
    spec = _swapped(spec) or spec
    n = _slices(spec)
    if n > MAX_SLICES:
        return (
            f"unfolding takes {n} windows (one per kernel tap or output position per "
            f"spatial dim), more than the {MAX_SLICES} allowed"
        )
    return None


CHUNK_BYTES = 2 * 2**20  # patches per step (cache-sized); larger ones are unfolded in a loop


def _chunk(spec: ConvSpec) -> int:
    """How many items one step unfolds: the largest divisor that keeps the patches within
    `CHUNK_BYTES`. Unfolding by taps steps over images (the rows of the product); by
    positions it steps over input channels (the depth of the product, accumulated), so
    that each step's product keeps all its rows.
    """
    total = spec.batch if _by_taps(spec) else spec.in_channels
    per_item = workspace(spec) // max(total, 1)
    return largest_divisor(total, CHUNK_BYTES / per_item if per_item else total)


def _is_view(spec: ConvSpec) -> bool:
    """A 1x1 kernel at stride 1 without padding: the input already is the patch matrix."""
    return (
        all(k == 1 for k in spec.kernel_size) and all(s == 1 for s in spec.stride)
        and all(p == (0, 0) for p in spec.padding) and all(d == 1 for d in spec.lhs_dilation)
    )


def workspace(spec: ConvSpec) -> int:
    """Bytes of the whole patch matrix (none when the input already is one)."""
    if _is_view(spec):
        return 0
    return (
        compute_itemsize(spec) * spec.batch * spec.groups * spec.in_channels
        * math.prod(spec.kernel_size) * math.prod(spec.out_size)
    )


def _estimate(spec: ConvSpec, c) -> tuple[float, int]:
    """Raw (seconds, workspace) of the unfolded product; ``c``: machine constants."""
    swapped = _swapped(spec)
    if swapped is not None:
        return _estimate(swapped, c)
    item = compute_itemsize(spec)
    nc = _chunk(spec)
    by_taps = _by_taps(spec)
    steps = (spec.batch if by_taps else spec.in_channels) // nc
    patches = workspace(spec) // steps
    # the patches are written and read back; in 1-D, XLA first copies every window out
    # and then concatenates the copies (in 2-D and 3-D it fuses the two): twice that
    passes = 4 if spec.ndim == 1 else 2
    unfolds = 0 if _is_view(spec) else passes * steps * patches
    m = spec.out_channels
    k = (spec.in_channels if by_taps else nc) * math.prod(spec.kernel_size)
    n = (nc if by_taps else spec.batch) * math.prod(spec.out_size)
    rate = (
        c["matmul_flops"]
        * saturation(m, c["matmul_half"])
        * saturation(k, c["matmul_half"])
        * saturation(n, c["matmul_half"])
    )
    y_bytes = item * math.prod(spec.y_shape)
    x_bytes = item * math.prod(spec.x_shape)
    w_bytes = item * math.prod(spec.w_shape)
    seconds = (
        c["launch_seconds"] * steps * (4 + _slices(spec))
        + 2 * spec.macs * dtype_factor(spec, "matmul", c) / rate
        + (3 * x_bytes + unfolds + 2 * y_bytes + 2 * w_bytes) / c["stream_bytes"]
        + fault_seconds(patches + x_bytes + y_bytes, c)
    )
    # the stacked windows and their reshaped copy, next to the re-laid operands
    return seconds, 2 * patches + relayout_bytes(spec)


def _detail(spec: ConvSpec) -> str:
    """A few words on how ``spec`` would run (for `jconv.explain`)."""
    swapped = _swapped(spec)
    if swapped is not None:
        return _detail(swapped) + ", input and kernel exchanged (no products with zeros)"
    by_taps = _by_taps(spec)
    total = spec.batch if by_taps else spec.in_channels
    steps = total // _chunk(spec)
    how = "unfolded by taps" if by_taps else "unfolded by output positions"
    return how + (f", in {steps} steps" if steps > 1 else "")


def unfold_taps(xe, spec: ConvSpec, slot: int = 3):
    """Patches, unfolded one spatial dim at a time; the tap axes are inserted at ``slot``.

    ``xe`` has three leading axes before its spatial ones: ``(N, G, Ci)`` gives
    ``(N, G, Ci, T_1..T_n, O_1..O_n)`` (``slot=3``); ``(G, Ci, N)`` with ``slot=2`` gives
    ``(G, Ci, T_1..T_n, N, O_1..O_n)``. Unfolding dim ``k`` takes one strided window per
    tap along it (``K_1 + ... + K_n`` windows in all rather than ``K_1 ... K_n``).
    """
    arr = xe
    for k, (kk, o, s, d) in enumerate(
        zip(spec.kernel_size, spec.out_size, spec.stride, spec.rhs_dilation)
    ):
        axis = 3 + 2 * k  # k tap axes and k output axes precede this spatial dim
        cols = [
            lax.slice_in_dim(arr, t * d, t * d + (o - 1) * s + 1, s, axis=axis)
            for t in range(kk)
        ]
        at = slot + k
        arr = jnp.stack(cols, axis=at) if kk > 1 else jnp.expand_dims(cols[0], at)
    return arr


def unfold_positions(xe, spec: ConvSpec):
    """Patches ``(G, N, P_1..P_n, Ci, K_1..K_n)``: one kernel-sized window per position."""
    arr = jnp.moveaxis(xe, 1, 0)  # (G, N, Ci, *E)
    for k, (kk, o, s, d) in enumerate(
        zip(spec.kernel_size, spec.out_size, spec.stride, spec.rhs_dilation)
    ):
        cols = [
            lax.slice_in_dim(arr, p * s, p * s + (kk - 1) * d + 1, d, axis=3 + 2 * k)
            for p in range(o)
        ]
        arr = jnp.stack(cols, axis=2 + k)
    return arr


WIDE_POSITIONS = 2048  # below this many output positions per image, images share one product


def _by_taps_product(xe, w, spec: ConvSpec, precision):
    """``xe`` holds ``spec.batch`` images; returns ``(N, G, Co, P)``.

    Per image and group ``(Co, Ci T) @ (Ci T, P)``; when an image has few output positions
    and the whole batch is unfolded at once, the images share one wider product,
    ``(Co, Ci T) @ (Ci T, N P)``.
    """
    g, co, ci = w.shape[:3]
    n = xe.shape[0]
    taps = math.prod(spec.kernel_size)
    pos = math.prod(spec.out_size)
    if pos < WIDE_POSITIONS and n > 1 and _chunk(spec) == spec.batch:
        cols = unfold_taps(jnp.moveaxis(xe, 0, 2), spec, slot=2)  # (G, Ci, T.., N, O..)
        cols = cols.reshape(g, ci * taps, n * pos)
        y = lax.dot_general(
            w.reshape(g, co, ci * taps), cols, (((2,), (1,)), ((0,), (0,))), precision=precision
        )
        return jnp.moveaxis(y.reshape(g, co, n, pos), 2, 0)
    cols = unfold_taps(xe, spec).reshape(n, g, ci * taps, -1)
    wm = jnp.broadcast_to(w.reshape(1, g, co, ci * taps), (n, g, co, ci * taps))
    return lax.dot_general(wm, cols, (((3,), (2,)), ((0, 1), (0, 1))), precision=precision)


def _by_positions_product(xe, wm, spec: ConvSpec, precision):
    """``xe`` holds ``spec.in_channels`` channels, ``wm`` is ``(G, Co, Ci K)``: per group
    ``(N P, Ci K) @ (Ci K, Co)``, as ``(G, N P, Co)``."""
    g, n = xe.shape[1], xe.shape[0]
    pos = math.prod(spec.out_size)
    cols = unfold_positions(xe, spec).reshape(g, n * pos, -1)
    return lax.dot_general(cols, wm, (((2,), (2,)), ((0,), (0,))), precision=precision)


def run(x, w, spec: ConvSpec, precision=None):
    w = effective_kernel(w, spec)
    swapped = _swapped(spec)
    if swapped is not None:  # (Co, G, N, *O), the outputs in reverse order
        y = run(jnp.moveaxis(w, 1, 0), jnp.moveaxis(x, 0, 1), swapped, precision)
        return jnp.swapaxes(lax.rev(y, tuple(range(3, y.ndim))), 0, 2)
    g, co, ci = w.shape[:3]
    n = spec.batch
    nc = _chunk(spec)
    if _by_taps(spec):
        if nc == n:
            y = _by_taps_product(dilate_and_pad(x, spec), w, spec, precision)
        else:
            sub = dataclasses.replace(spec, batch=nc)
            y = map_chunks(  # each chunk in its final shape: no reshape of the whole
                lambda xc: _by_taps_product(dilate_and_pad(xc, sub), w, sub, precision)
                .reshape(sub.y_shape),
                x.reshape(n // nc, nc, *x.shape[1:]), ways=1,
            )
        return y.reshape(spec.y_shape)
    # by positions: the kernel is the long operand; one product contracts it as it lies
    taps = math.prod(spec.kernel_size)
    wm = w.reshape(g, co, ci * taps)
    if nc == ci:
        y = _by_positions_product(dilate_and_pad(x, spec), wm, spec, precision)
    else:
        sub = dataclasses.replace(spec, in_channels=nc)
        steps = ci // nc
        # each step reads its input channels and its columns of the kernel matrix where
        # they lie (a kernel laid out once for slicing rows would be a loop operand
        # re-laid out and then copied)
        y = sum_chunks(
            lambda xw: _by_positions_product(dilate_and_pad(xw[0], sub), xw[1], sub, precision),
            (x.reshape(n, g, steps, nc, *spec.in_size), wm.reshape(g, co, steps, nc * taps)),
            jnp.zeros((g, n * math.prod(spec.out_size), co), w.dtype), ways=1, axis=2,
        )
    y = y.reshape(g, n, -1, co)
    return jnp.transpose(y, (1, 0, 3, 2)).reshape(spec.y_shape)


def plan(spec: ConvSpec, ctx):
    """One form, by taps (``im2col.taps``) or by positions (``im2col.positions``)."""
    reason = _refusal(spec)
    if reason:
        return reason
    seconds, workspace = _estimate(spec, ctx.constants)
    key = "im2col.taps" if _by_taps(_swapped(spec) or spec) else "im2col.positions"
    return (Form(key, seconds, workspace, lambda x, w, p: run(x, w, spec, p), _detail(spec),
                 exact_products(spec)),)


ALGORITHM = Algorithm(
    "im2col",
    "unfolded patches times the kernel matrix: one matrix product per group",
    ("im2col.taps", "im2col.positions"),
    plan,
)
