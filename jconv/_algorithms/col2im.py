"""``col2im``: every input sample times every kernel tap, then added into the outputs.

The adjoint of `im2col`. At stride 1, output ``p`` meets input sample ``i`` through tap
``t`` exactly when ``p + t d = ld i + lo`` (``ld`` the input dilation, ``d`` the kernel's,
``lo`` the low padding), so

    Z[g, t, o, n, i] = sum_c w[g, o, c, t'] x[n, g, c, i]      (one product per group)
    y[n, g, o, p]    = sum_{(t, i) : p = ld i + lo - t d} Z[g, t, o, n, i].

Per group the products are one ``(T Co, Ci) @ (Ci, N S)`` matrix product; no product
meets an inserted zero, and the whole batch shares one wide product (where `polyphase`
runs one small convolution per phase). Per spatial dim, tap ``t`` lands on the outputs of
phase ``r = (lo - t d) mod ld`` shifted by ``(lo - t d - r) / ld`` samples: each phase
is a sum of shifted tap slices of ``Z``, and the phases interleave into ``y``, all in one
fused pass. This is how transposed convolutions (and the input gradients of strided
convolutions) run fastest when the channels are many; ``Z`` is ``T Co / Ci`` times the
input, the workspace that pays for it. Stride 1 only: a stride would skip outputs that
the products still reach. A large batch runs a few images at a time, so that each
step's products stay within `CHUNK_BYTES`. Exact for integers.
"""

from __future__ import annotations

import dataclasses
import itertools
import math

import jax.numpy as jnp
from jax import lax

from .._spec import ConvSpec
from . import Algorithm, Form
from ._common import (
    compute_itemsize,
    dtype_factor,
    effective_kernel,
    exact_products,
    fault_seconds,
    largest_divisor,
    map_chunks,
    relayout_bytes,
    saturation,
)

MAX_TAPS = 1024  # one slice of the products per tap, all summed in one fused pass
CHUNK_BYTES = 16 * 2**20
"""Products per step: larger ones are mapped afresh (and page-faulted) on every call;
much smaller steps make narrower products. 8 x 128 x 28 x 28 -> 64 channels, 3x3, input
dilated by 2, at a batch of 32: 48.6 ms in one step (46 MiB of products), 33.2 in steps
of 8 images (14 MiB), 36.0 in steps of 4 and 43.2 in steps of 16."""


def _refusal(spec: ConvSpec) -> str | None:
    if any(s != 1 for s in spec.stride):
        return f"the stride is {spec.stride}: the products are scattered at stride 1 only"
    taps = math.prod(spec.kernel_size)
    if taps > MAX_TAPS:
        return f"the kernel has {taps} taps, more than the {MAX_TAPS} allowed"
    return None


def _dim_taps(spec: ConvSpec, i: int) -> dict[int, list[tuple[int, int]]]:
    """Spatial dim ``i``: per output phase ``r``, its ``(tap, shift)`` pairs.

    Tap ``t`` puts sample ``j`` on output ``ld (j + shift) + r``; taps whose products all
    land outside the output are left out.
    """
    ld, d, (lo, _) = spec.lhs_dilation[i], spec.rhs_dilation[i], spec.padding[i]
    size, count = spec.in_size[i], _phase_length(spec, i)
    phases: dict[int, list[tuple[int, int]]] = {r: [] for r in range(ld)}
    for t in range(spec.kernel_size[i]):
        r = (lo - t * d) % ld
        shift = (lo - t * d - r) // ld
        if shift < count and shift + size > 0:
            phases[r].append((t, shift))
    return phases


def _phase_length(spec: ConvSpec, i: int) -> int:
    """Outputs per phase in dim ``i`` (the longest phase; the interleave crops the rest)."""
    return -(-spec.out_size[i] // spec.lhs_dilation[i])


def _products_bytes(spec: ConvSpec) -> int:
    """Bytes of ``Z``: every sample times every tap."""
    return (
        compute_itemsize(spec) * spec.batch * spec.groups * spec.out_channels
        * math.prod(spec.in_size) * math.prod(spec.kernel_size)
    )


def _chunk(spec: ConvSpec) -> int:
    """Images per step: the largest divisor of the batch whose products fit
    `CHUNK_BYTES` (one image when none does)."""
    per_image = _products_bytes(spec) // max(spec.batch, 1)
    return largest_divisor(spec.batch, CHUNK_BYTES / per_image if per_image else spec.batch)


def _estimate(spec: ConvSpec, c) -> tuple[float, int]:
    """Raw (seconds, workspace) of the products and their scatter; ``c``: machine constants."""
    item = compute_itemsize(spec)
    taps = math.prod(spec.kernel_size)
    nc = _chunk(spec)
    steps = spec.batch // nc
    m = taps * spec.out_channels
    k = spec.in_channels
    n = nc * math.prod(spec.in_size)
    macs = steps * spec.groups * m * k * n
    rate = (
        c["matmul_flops"]
        * saturation(m, c["matmul_half"])
        * saturation(k, c["matmul_half"])
        * saturation(n, c["matmul_half"])
    )
    if spec.groups > 1:  # one product per group, batched: XLA runs that on one core
        rate /= c["xla_parallel_speedup"]
    z_bytes = _products_bytes(spec)  # in all
    z_step = z_bytes // steps
    y_bytes = item * math.prod(spec.y_shape)
    x_bytes = item * math.prod(spec.x_shape)
    w_bytes = item * math.prod(spec.w_shape)
    seconds = (
        c["launch_seconds"] * steps * (4 + taps)
        + 2 * macs * dtype_factor(spec, "matmul", c) / rate
        + (2 * x_bytes + 2 * w_bytes + 2 * z_bytes + 2 * y_bytes) / c["stream_bytes"]
        + fault_seconds(z_step + y_bytes, c)
    )
    # one step's products and the phases before their interleave, next to the re-laid
    # operands
    return seconds, z_step + y_bytes + relayout_bytes(spec)


def run(x, w, spec: ConvSpec, precision=None):
    w = effective_kernel(w, spec)
    n, nc = spec.batch, _chunk(spec)
    if nc == n:
        return _scatter(x, w, spec, precision)
    sub = dataclasses.replace(spec, batch=nc)
    y = map_chunks(lambda xc: _scatter(xc, w, sub, precision),
                   x.reshape(n // nc, nc, *x.shape[1:]), ways=1)
    return y.reshape(spec.y_shape)


def _scatter(x, w, spec: ConvSpec, precision):
    """The products and their scatter, all images at once (``w`` as the sum uses it)."""
    n, g, ci = spec.batch, spec.groups, spec.in_channels
    co, nd = spec.out_channels, spec.ndim
    taps = math.prod(spec.kernel_size)
    xm = jnp.moveaxis(x, 0, 2).reshape(g, ci, -1)  # (G, Ci, N S)
    wm = jnp.moveaxis(w.reshape(g, co, ci, taps), 3, 1).reshape(g, taps * co, ci)
    if g == 1:  # a plain matrix product runs on every core; a batched one may not
        z = lax.dot_general(wm[0], xm[0], (((1,), (0,)), ((), ())), precision=precision)
    else:
        z = lax.dot_general(wm, xm, (((2,), (1,)), ((0,), (0,))), precision=precision)
    z = z.reshape(g, *spec.kernel_size, co, n, *spec.in_size)

    per_dim = [_dim_taps(spec, i) for i in range(nd)]
    length = [_phase_length(spec, i) for i in range(nd)]
    zero = jnp.zeros((), z.dtype)
    blocks = []
    for phase in itertools.product(*(range(ld) for ld in spec.lhs_dilation)):
        total = None
        for tap in itertools.product(*(per_dim[i][r] for i, r in enumerate(phase))):
            part = z[(slice(None), *(t for t, _ in tap))]  # (G, Co, N, *S)
            config = [(0, 0, 0)] * 3 + [
                (shift, q - s - shift, 0) for (_, shift), q, s in zip(tap, length, spec.in_size)
            ]
            part = lax.pad(part, zero, config)
            total = part if total is None else total + part
        blocks.append(jnp.zeros((g, co, n, *length), z.dtype) if total is None else total)
    phases = jnp.stack(blocks, axis=-1).reshape(g, co, n, *length, *spec.lhs_dilation)
    # (G, Co, N, Q_1..Q_nd, R_1..R_nd) -> (N, G, Co, Q_1, R_1, ..., Q_nd, R_nd)
    order = [2, 0, 1] + [a for i in range(nd) for a in (3 + i, 3 + nd + i)]
    y = jnp.transpose(phases, order).reshape(
        n, g, co, *(q * ld for q, ld in zip(length, spec.lhs_dilation))
    )
    return y[(slice(None),) * 3 + tuple(slice(0, o) for o in spec.out_size)]


def _detail(spec: ConvSpec) -> str:
    """A few words on how ``spec`` would run (for `jconv.explain`)."""
    phases = math.prod(spec.lhs_dilation)
    taps = math.prod(spec.kernel_size)
    steps = spec.batch // _chunk(spec)
    return (
        f"{taps} taps' products scattered into {phases} output phase"
        + ("s" if phases > 1 else "") + (f", in {steps} steps" if steps > 1 else "")
    )


def plan(spec: ConvSpec, ctx):
    """One form (``col2im``), or why the spec is out of reach."""
    reason = _refusal(spec)
    if reason:
        return reason
    seconds, workspace = _estimate(spec, ctx.constants)
    return (Form("col2im", seconds, workspace, lambda x, w, p: run(x, w, spec, p), _detail(spec),
                 exact_products(spec)),)


ALGORITHM = Algorithm(
    "col2im",
    "one matrix product of every sample with every tap, added into the outputs it reaches",
    ("col2im",),
    plan,
)
