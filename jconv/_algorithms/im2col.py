"""``im2col``: unfold the input into patches, then one batched matrix product per group.

    P[n, g, (c, t), p] = xe[n, g, c, p * s + t * d]          (the patches, "im2col")
    y[n, g, o, p]      = sum_{(c, t)} W[g, o, (c, t)] P[n, g, (c, t), p]

This is the matrix form of the convolution made concrete: per group, a
``(Co, Ci K) @ (Ci K, N O)`` product, which runs at matrix-multiply speed when the
channel counts are large. The patches are built from whichever is shorter, the kernel
taps (one strided window of the whole output per tap) or the output positions (one window
of the whole kernel per position, the shape of the kernel-gradient pass, whose "kernel"
is the output cotangent). Their bytes are the workspace. Exact for integers.
"""

from __future__ import annotations

import math

import jax.numpy as jnp
from jax import lax

from .._spec import ConvSpec
from . import Algorithm, Cost
from ._calibration import CONSTANTS
from ._common import (
    compute_itemsize,
    dilate_and_pad,
    dtype_factor,
    effective_kernel,
    saturation,
)

MAX_SLICES = 2048  # windows taken, summed over the spatial dims (unrolled at trace time)


def _by_taps(spec: ConvSpec) -> bool:
    return math.prod(spec.kernel_size) <= math.prod(spec.out_size)


def _slices(spec: ConvSpec) -> int:
    """Windows the dim-by-dim unfolding takes: one per tap (or position) per spatial dim."""
    return sum(spec.kernel_size) if _by_taps(spec) else sum(spec.out_size)


def supports(spec: ConvSpec) -> str | None:
    n = _slices(spec)
    if n > MAX_SLICES:
        return (
            f"unfolding takes {n} windows (one per kernel tap or output position per "
            f"spatial dim), more than the {MAX_SLICES} allowed"
        )
    return None


def workspace(spec: ConvSpec) -> int:
    """Bytes of the patch matrix."""
    return (
        compute_itemsize(spec) * spec.batch * spec.groups * spec.in_channels
        * math.prod(spec.kernel_size) * math.prod(spec.out_size)
    )


def cost(spec: ConvSpec) -> Cost:
    c = CONSTANTS
    item = compute_itemsize(spec)
    patches = workspace(spec)
    m = spec.out_channels
    k = spec.in_channels * math.prod(spec.kernel_size)
    n = spec.batch * math.prod(spec.out_size)
    rate = (
        c["matmul_flops"]
        * saturation(m, c["matmul_half"])
        * saturation(k, c["matmul_half"])
        * saturation(n, c["matmul_half"])
    )
    y_bytes = item * math.prod(spec.y_shape)
    x_bytes = item * math.prod(spec.x_shape)
    seconds = (
        c["launch_seconds"] * (4 + _slices(spec))
        + 2 * spec.macs * dtype_factor(spec, "matmul") / rate
        + (3 * x_bytes + 2 * patches + 2 * y_bytes) / c["stream_bytes"]
    )
    return Cost(seconds, patches)


def unfold_taps(xe, spec: ConvSpec):
    """Patches ``(G, Ci, T_1..T_n, N, O_1..O_n)``, unfolded one spatial dim at a time.

    After ``k`` dims the array is ``(G, Ci, T_1..T_k, N, O_1..O_k, E_k+1..E_n)``; unfolding
    dim ``k + 1`` takes one strided window per tap along it (``K_1 + ... + K_n`` windows in
    all rather than ``K_1 ... K_n``).
    """
    arr = jnp.moveaxis(xe, 0, 2)  # (G, Ci, N, *E)
    for k, (kk, o, s, d) in enumerate(
        zip(spec.kernel_size, spec.out_size, spec.stride, spec.rhs_dilation)
    ):
        axis = 3 + 2 * k
        cols = [
            lax.slice_in_dim(arr, t * d, t * d + (o - 1) * s + 1, s, axis=axis)
            for t in range(kk)
        ]
        arr = jnp.stack(cols, axis=2 + k)
    return arr


def unfold_positions(xe, spec: ConvSpec):
    """Patches ``(G, N, P_1..P_n, Ci, K_1..K_n)``: one kernel-sized window per position."""
    arr = jnp.moveaxis(xe, 1, 0)  # (G, N, Ci, *E)
    for k, (kk, o, s, d) in enumerate(
        zip(spec.kernel_size, spec.out_size, spec.stride, spec.rhs_dilation)
    ):
        axis = 3 + 2 * k
        cols = [
            lax.slice_in_dim(arr, p * s, p * s + (kk - 1) * d + 1, d, axis=axis)
            for p in range(o)
        ]
        arr = jnp.stack(cols, axis=2 + k)
    return arr


def run(x, w, spec: ConvSpec, precision=None):
    xe = dilate_and_pad(x, spec)
    w = effective_kernel(w, spec)
    g, co, ci = w.shape[:3]
    n = spec.batch
    taps = math.prod(spec.kernel_size)
    pos = math.prod(spec.out_size)
    wm = w.reshape(g, co, ci * taps)
    dims = (((2,), (1,)), ((0,), (0,)))
    if _by_taps(spec):
        cols = unfold_taps(xe, spec).reshape(g, ci * taps, n * pos)
        y = lax.dot_general(wm, cols, dims, precision=precision)  # (G, Co, N P)
        y = jnp.moveaxis(y.reshape(g, co, n, pos), 2, 0)
    else:
        cols = unfold_positions(xe, spec).reshape(g, n * pos, ci * taps)
        y = lax.dot_general(cols, wm, (((2,), (2,)), ((0,), (0,))), precision=precision)
        y = jnp.transpose(y.reshape(g, n, pos, co), (1, 0, 3, 2))  # (N, G, Co, P)
    return y.reshape(spec.y_shape)


ALGORITHM = Algorithm(
    "im2col",
    "unfolded patches times the kernel matrix: one matrix product per group",
    supports,
    cost,
    run,
)
