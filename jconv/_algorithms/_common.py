"""Small helpers shared by the algorithms."""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np
from jax import lax

from .._spec import ConvSpec

# Calibration constants of the cost model (2-core CPU, float32; see benchmarks/).
MATMUL_FLOPS = 100e9   # dense, well-shaped matmul throughput in practice
STREAM_BYTES = 20e9    # memory traffic
LAUNCH_SECONDS = 2e-6  # fixed overhead per fused operation


def itemsize(spec: ConvSpec) -> int:
    return np.dtype(spec.dtype).itemsize


def operand_bytes(spec: ConvSpec) -> int:
    """Bytes of x, w and y together."""
    return itemsize(spec) * sum(math.prod(s) for s in (spec.x_shape, spec.w_shape, spec.y_shape))


def effective_kernel(w, spec: ConvSpec):
    """The kernel as the sum uses it: flipped along the spatial axes when ``spec.flip``."""
    if spec.flip:
        return lax.rev(w, tuple(range(3, w.ndim)))
    return w


def dilate_and_pad(x, spec: ConvSpec):
    """``xe``: x with ``lhs_dilation - 1`` zeros between samples, padded (negative crops)."""
    config = [(0, 0, 0)] * 3 + [
        (lo, hi, ld - 1) for (lo, hi), ld in zip(spec.padding, spec.lhs_dilation)
    ]
    return lax.pad(x, jnp.zeros((), x.dtype), config)
