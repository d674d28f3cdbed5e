"""Small helpers shared by the algorithms: operand preparation, windows and cost terms."""

from __future__ import annotations

import functools
import itertools
import math
import os

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from .._spec import ConvSpec

_WIDE = ("float64", "complex128", "int64", "uint64")
_COMPLEX = ("complex64", "complex128")


def itemsize(spec: ConvSpec) -> int:
    return np.dtype(spec.dtype).itemsize


def compute_itemsize(spec: ConvSpec) -> int:
    """Bytes per element as the algorithms compute (half precision runs in float32)."""
    return max(itemsize(spec), 4) if spec.dtype in ("float16", "bfloat16") else itemsize(spec)


def operand_bytes(spec: ConvSpec) -> int:
    """Bytes of x, w and y together."""
    return itemsize(spec) * sum(math.prod(s) for s in (spec.x_shape, spec.w_shape, spec.y_shape))


def relayout_bytes(spec: ConvSpec) -> int:
    """Room for one re-laid-out copy of each of the two largest operands of x, w and y.

    Every algorithm moves its operands into the layout its products want (XLA's own
    convolution too), and those copies are scratch memory next to the algorithm's own
    buffers; a workspace estimate counts them.
    """
    sizes = sorted(math.prod(s) for s in (spec.x_shape, spec.w_shape, spec.y_shape))
    return compute_itemsize(spec) * (sizes[1] + sizes[2])


def forward_shaped(spec: ConvSpec) -> bool:
    """At most as many kernel taps as output positions: a forward pass or an input
    gradient. A kernel gradient, whose "kernel" is the output cotangent, usually has
    more taps than its (kernel-sized) output has positions."""
    return math.prod(spec.kernel_size) <= math.prod(spec.out_size)


FEW_CHANNELS = 8


def few_channels(spec: ConvSpec) -> bool:
    """A forward pass or input gradient (`forward_shaped`) with at most `FEW_CHANNELS`
    input channels per group: a depthwise or narrow grouped layer. Loops over so few
    channel planes run at rates of their own, which the calibration fits separately. (A
    kernel gradient's "channels" are the batch; its sums run over the positions.)"""
    return spec.in_channels <= FEW_CHANNELS and forward_shaped(spec)


def exact_products(spec: ConvSpec) -> bool:
    """Whether a direct method (taps, im2col, col2im) does exactly XLA's products, with
    the same zeros, on every platform: without padding or input dilation, where every
    product is of an input sample and a tap. (Which zeros XLA multiplies depends on its
    route: on CPU it multiplies padding for float32 in 2-D but not for float64 or in
    strided 1-D, and skips the zeros of input dilation.)"""
    return (all(ld == 1 for ld in spec.lhs_dilation)
            and all(lo <= 0 and hi <= 0 for lo, hi in spec.padding))


def is_integer(spec: ConvSpec) -> bool:
    return np.dtype(spec.dtype).kind in "iub"


def dtype_factor(spec: ConvSpec, key: str, c) -> float:
    """How much slower than float32 arithmetic ``key`` (a calibrated family) runs;
    ``c``: the machine constants."""
    if spec.dtype in _COMPLEX:
        base = 4.0  # one complex multiply-add is four real ones
        wide = spec.dtype == "complex128"
    else:
        base = 1.0
        wide = spec.dtype in _WIDE
    if is_integer(spec):
        return base * c[f"{key}_int_factor"] * (2.0 if wide else 1.0)
    return base * (c[f"{key}_f64_factor"] if wide else 1.0)


def fault_seconds(workspace: float, c) -> float:
    """The time to first-touch scratch memory larger than the allocator keeps for reuse.

    A block past that size is mapped afresh on every call and each of its pages faults
    on first use, which costs far more than streaming through mapped memory: the whole
    block, not only the part past the size (measured, XLA writing 30 MiB: 0.7 ms beyond
    streaming; 34 MiB: 12.6 ms).
    """
    return workspace / c["fault_bytes"] if workspace > c["alloc_reuse_bytes"] else 0.0


def largest_divisor(n: int, limit: float) -> int:
    """The largest divisor of ``n`` that is at most ``max(limit, 1)``: how many items a
    step of a chunked loop takes when ``limit`` of them fit its budget."""
    best = 1
    for k in range(1, n + 1):
        if n % k == 0 and k <= limit:
            best = k
    return best


def saturation(size: float, half: float) -> float:
    """``size / (size + half)``: the efficiency of a loop of ``size`` with overhead ``half``."""
    return size / (size + half)


def effective_kernel(w, spec: ConvSpec):
    """The kernel as the sum uses it: flipped along the spatial axes when ``spec.flip``."""
    if spec.flip:
        return lax.rev(w, tuple(range(3, w.ndim)))
    return w


def loop_slicer(a, axis: int):
    """``(start, size) -> lax.dynamic_slice_in_dim(a, start, size, axis)`` for a loop body.

    It reads from ``a`` without its size-1 axes. XLA carries a loop's operands in the
    default layout, while a reshape that inserts size-1 axes (a group axis of one, a
    chunk of one image) gets a layout of its own: passing such an array into a loop as it
    is costs a copy of all of it, held as scratch for the whole loop. The compact view is
    the array that was reshaped, so nothing is copied.
    """
    keep = [d for d, s in enumerate(a.shape) if s != 1 or d == axis]
    compact = a.reshape([a.shape[d] for d in keep])
    at = keep.index(axis)

    def read(start, size: int):
        part = lax.dynamic_slice_in_dim(compact, start, size, axis=at)
        return part.reshape(*a.shape[:axis], size, *a.shape[axis + 1:])

    return read


PARALLEL_CHUNKS = min(os.cpu_count() or 1, 4)
"""Independent chunks computed per loop step: XLA runs independent operations
concurrently, which a sequential loop over chunks would not allow."""


def _chunk_reader(xs, axis: int):
    """``(k, i -> chunk i)``: the chunks of the pytree ``xs`` along ``axis``, and a reader.

    The reader slices compact views of the leaves (`loop_slicer`), so a loop over the
    chunks neither copies nor transposes them first.
    """
    leaves, tree = jax.tree.flatten(xs)
    reads = [loop_slicer(a, axis) for a in leaves]

    def chunk(i):
        parts = [read(i, 1) for read in reads]
        return tree.unflatten([p.reshape(p.shape[:axis] + p.shape[axis + 1:]) for p in parts])

    return leaves[0].shape[axis], chunk


def map_chunks(fn, xs, ways: int | None = None, out_axis: int = 0):
    """``jnp.concatenate([fn(x) for x in xs], out_axis)`` by a loop (``xs``: a pytree,
    its chunks ``xs[i]`` taken along the leading axis of every leaf).

    Each step runs ``ways`` chunks, which have no data dependence, so XLA may run them
    on different cores; every output is written in place into the result (stacking the
    outputs and reshaping them would cost a copy of the result when the shapes differ by
    size-1 axes).
    """
    ways = PARALLEL_CHUNKS if ways is None else ways
    k, chunk = _chunk_reader(xs, 0)
    ways = math.gcd(k, max(1, ways))
    part = jax.eval_shape(lambda: fn(chunk(0)))
    size = part.shape[out_axis]
    shape = (*part.shape[:out_axis], k * size, *part.shape[out_axis + 1:])

    def step(s, out):
        for i in range(ways):
            j = s * ways + i
            out = lax.dynamic_update_slice_in_dim(out, fn(chunk(j)), j * size, out_axis)
        return out

    return lax.fori_loop(0, k // ways, step, jnp.zeros(shape, part.dtype))


def sum_chunks(fn, xs, init, ways: int | None = None, axis: int = 0):
    """``init + sum_i fn(xs[i])`` by a loop, ``ways`` independent terms per step; the
    chunks ``xs[i]`` are taken along ``axis`` of every leaf of ``xs``."""
    ways = PARALLEL_CHUNKS if ways is None else ways
    k, chunk = _chunk_reader(xs, axis)
    ways = math.gcd(k, max(1, ways))

    def step(s, acc):
        terms = [fn(chunk(s * ways + i)) for i in range(ways)]
        return acc + functools.reduce(lambda a, b: a + b, terms)

    return lax.fori_loop(0, k // ways, step, init)


def dilate_and_pad(x, spec: ConvSpec):
    """``xe``: x with ``lhs_dilation - 1`` zeros between samples, padded (negative crops)."""
    if all(ld == 1 for ld in spec.lhs_dilation) and all(p == (0, 0) for p in spec.padding):
        return x
    config = [(0, 0, 0)] * 3 + [
        (lo, hi, ld - 1) for (lo, hi), ld in zip(spec.padding, spec.lhs_dilation)
    ]
    return lax.pad(x, jnp.zeros((), x.dtype), config)


def used_extent(spec: ConvSpec) -> tuple[int, ...]:
    """Per dim, how much of the padded input the windows read: ``(O - 1) s + d (K - 1) + 1``."""
    return tuple(
        (o - 1) * s + dk
        for o, s, dk in zip(spec.out_size, spec.stride, spec.dilated_kernel_size)
    )


def taps(spec: ConvSpec):
    """Every kernel tap index tuple, in C order."""
    return itertools.product(*(range(k) for k in spec.kernel_size))


def positions(spec: ConvSpec):
    """Every output position index tuple, in C order."""
    return itertools.product(*(range(o) for o in spec.out_size))


def tap_window(xe, spec: ConvSpec, t):
    """``xe[..., t d + p s]`` for every output position ``p``: shape ``(N, G, Ci, *O)``."""
    start = [0, 0, 0] + [ti * d for ti, d in zip(t, spec.rhs_dilation)]
    limit = [*xe.shape[:3]] + [
        st + (o - 1) * s + 1 for st, o, s in zip(start[3:], spec.out_size, spec.stride)
    ]
    return lax.slice(xe, start, limit, (1, 1, 1, *spec.stride))


def position_window(xe, spec: ConvSpec, p):
    """``xe[..., p s + t d]`` for every kernel tap ``t``: shape ``(N, G, Ci, *K)``."""
    start = [0, 0, 0] + [pi * s for pi, s in zip(p, spec.stride)]
    limit = [*xe.shape[:3]] + [
        st + (k - 1) * d + 1 for st, k, d in zip(start[3:], spec.kernel_size, spec.rhs_dilation)
    ]
    return lax.slice(xe, start, limit, (1, 1, 1, *spec.rhs_dilation))


def flat_wide(xe, spec: ConvSpec):
    """Flatten the spatial axes of a stride-1 problem onto one "wide" axis.

    With stride 1, output position ``p`` reads ``xe`` at flat offset ``sum_k p_k R_k`` plus
    the tap's offset ``sum_k t_k d_k R_k`` (``R_k`` the row-major strides of ``xe``'s spatial
    block). Computing the output on the grid ``(O_1, E_2, ..., E_n)`` (every row as wide as
    the padded input) turns every tap window into one contiguous 1-D slice; the columns past
    ``O_k`` are garbage and `unwiden` crops them.

    Returns:
        ``(xf, offsets, length)``: ``xe`` cropped to the extent the windows use and flattened
        to ``(N, G, Ci, L)`` (zero-extended so every slice fits), the flat offset of every
        tap (C order), and the wide output length.
    """
    extent = used_extent(spec)
    if tuple(xe.shape[3:]) != extent:
        xe = lax.slice(xe, [0] * xe.ndim, [*xe.shape[:3], *extent])
    strides = [math.prod(extent[k + 1:]) for k in range(spec.ndim)]
    length = spec.out_size[0] * strides[0]
    offsets = [
        sum(ti * d * r for ti, d, r in zip(t, spec.rhs_dilation, strides)) for t in taps(spec)
    ]
    need = max(offsets) + length - math.prod(extent)
    if need > 0:  # extend by whole zero rows of the first dim, so that the padding fuses
        rows = -(-need // strides[0])  # with xe's (a flat pad after the reshape would not)
        xe = jnp.pad(xe, [(0, 0)] * 3 + [(0, rows)] + [(0, 0)] * (spec.ndim - 1))
    xf = xe.reshape(*xe.shape[:3], -1)
    return xf, offsets, length


def unwiden(yw, spec: ConvSpec):
    """Crop a wide output ``(..., O_1 * E_2 ... E_n)`` from `flat_wide` to ``(..., *O)``."""
    extent = used_extent(spec)
    wide = (spec.out_size[0], *extent[1:])
    y = yw.reshape(*yw.shape[:-1], *wide)
    if wide != spec.out_size:
        lead = yw.ndim - 1
        y = lax.slice(y, [0] * y.ndim, [*y.shape[:lead], *spec.out_size])
    return y


def wide_fraction(spec: ConvSpec) -> float:
    """Useful share of the wide grid: ``prod_{k>=2} O_k / E_k``."""
    extent = used_extent(spec)
    return math.prod(o / e for o, e in zip(spec.out_size[1:], extent[1:]))
