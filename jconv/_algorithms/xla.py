"""``xla``: XLA's own convolution, `jax.lax.conv_general_dilated`.

Good for dense convolutions with many channels; XLA on CPU is slow for grouped and
depthwise kernels, for their gradients, and for float64.
"""

from __future__ import annotations

from jax import lax

from .._spec import ConvSpec
from . import Algorithm, Cost
from ._common import LAUNCH_SECONDS, MATMUL_FLOPS, STREAM_BYTES, effective_kernel, operand_bytes


def supports(spec: ConvSpec) -> str | None:
    return None


def cost(spec: ConvSpec) -> Cost:
    rate = MATMUL_FLOPS / (8 if spec.groups > 1 else 1)
    if spec.dtype in ("float64", "complex128"):
        rate /= 8
    seconds = 2 * spec.macs / rate + operand_bytes(spec) / STREAM_BYTES + LAUNCH_SECONDS
    return Cost(seconds, 0)


def run(x, w, spec: ConvSpec, precision=None):
    n, g, ci = x.shape[:3]
    co = w.shape[1]
    y = lax.conv_general_dilated(
        x.reshape(n, g * ci, *spec.in_size),
        effective_kernel(w, spec).reshape(g * co, ci, *spec.kernel_size),
        window_strides=spec.stride,
        padding=spec.padding,
        lhs_dilation=spec.lhs_dilation,
        rhs_dilation=spec.rhs_dilation,
        feature_group_count=g,
        precision=precision,
    )
    return y.reshape(spec.y_shape)


ALGORITHM = Algorithm(
    "xla", "jax.lax.conv_general_dilated (XLA's convolution)", supports, cost, run
)
