"""``taps``: the direct sum over kernel taps.

    y[n, g, :, p] = sum_t  w[g, :, :, t'] @ xe[n, g, :, p * s + t * d]

For every tap ``t`` of the kernel, a strided slice of the dilated, padded input is
contracted over the channels of its group and accumulated. Exact for integers, no
workspace beyond one slice; the work per tap is a small batched matmul, which suits
depthwise and grouped kernels with few taps.
"""

from __future__ import annotations

import itertools
import math

import jax.numpy as jnp
from jax import lax

from .._spec import ConvSpec
from . import Algorithm, Cost
from ._common import (
    LAUNCH_SECONDS,
    MATMUL_FLOPS,
    STREAM_BYTES,
    dilate_and_pad,
    effective_kernel,
    itemsize,
)

MAX_TAPS = 4096  # the sum is unrolled at trace time


def supports(spec: ConvSpec) -> str | None:
    taps = math.prod(spec.kernel_size)
    if taps > MAX_TAPS:
        return f"the kernel has {taps} taps, more than the {MAX_TAPS} this unrolled sum allows"
    return None


def cost(spec: ConvSpec) -> Cost:
    taps = math.prod(spec.kernel_size)
    slice_bytes = itemsize(spec) * spec.batch * spec.groups * spec.in_channels * math.prod(
        spec.out_size
    )
    out_bytes = itemsize(spec) * math.prod(spec.y_shape)
    channel_rate = MATMUL_FLOPS * min(1.0, spec.in_channels * spec.out_channels / 256)
    seconds = (
        2 * spec.macs / max(channel_rate, 2e9)
        + taps * (slice_bytes + 2 * out_bytes) / STREAM_BYTES
        + taps * LAUNCH_SECONDS
    )
    return Cost(seconds, slice_bytes)


def run(x, w, spec: ConvSpec, precision=None):
    xe = dilate_and_pad(x, spec)
    w = effective_kernel(w, spec)
    nd = spec.ndim
    sp = "".join(chr(ord("p") + i) for i in range(nd))
    equation = f"ngc{sp},goc->ngo{sp}"
    y = None
    for t in itertools.product(*(range(k) for k in spec.kernel_size)):
        start = [0, 0, 0] + [ti * d for ti, d in zip(t, spec.rhs_dilation)]
        limit = [*x.shape[:3]] + [
            st + (o - 1) * s + 1 for st, o, s in zip(start[3:], spec.out_size, spec.stride)
        ]
        window = lax.slice(xe, start, limit, (1, 1, 1, *spec.stride))
        term = jnp.einsum(equation, window, w[(..., *t)], precision=precision)
        y = term if y is None else y + term
    return y


ALGORITHM = Algorithm(
    "taps", "direct sum over kernel taps of strided input slices", supports, cost, run
)
