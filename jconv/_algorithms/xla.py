"""``xla``: XLA's own convolution, `jax.lax.conv_general_dilated`.

Good for dense convolutions with many channels; XLA on CPU is slow for grouped and
depthwise kernels, for their gradients, and for float64.
"""

from __future__ import annotations

import math

from jax import lax

from .._spec import ConvSpec
from . import Algorithm, Form
from ._common import (
    FEW_CHANNELS,
    dtype_factor,
    effective_kernel,
    forward_shaped,
    operand_bytes,
    relayout_bytes,
    saturation,
)

# XLA's CPU convolution (jax 0.10) takes one of two routes. Without input dilation it is
# a YNNPACK kernel, which splits the work across cores only for large kernels: at least
# PARALLEL_OUT_CHANNELS output channels and PARALLEL_WEIGHTS kernel elements (measured:
# 64 -> 64 and 64 -> 128 3x3 layers run on one core at ~85 GFLOP/s, 64 -> 128 4x4 and
# 128 -> 256 3x3 ones on both at 150-195). With input dilation (a transposed convolution)
# it is Eigen's convolution, which skips the inserted zeros and uses every core, at a
# rate that grows with the channels more slowly (measured: 32 -> 32 at 43 GFLOP/s,
# 64 -> 64 at 80, 256 -> 128 at 148).
# In 1-D, float64 and complex128 take a third route, a slow loop whose rate does not grow
# with the channels (measured on 8 x 32 x 4096, 32 -> 32 channels, 9 taps: 2.6 GFLOP/s
# forward, 0.38 for the kernel gradient; 4 x 64 x 1024 depthwise, 7 taps: 0.037), 30-170
# times float32's time, where 2-D float64 runs at about half float32's rate. Its estimate
# is a form of its own, ``xla.f64_1d``, with its own rates and scale.
# On the other routes each output element also costs a fixed time, whatever the taps and
# channels that feed it (``xla_output_seconds``, fitted by the calibration on a pointwise
# layer; measured in 1-D, 8 x 16 x 2048 -> 32 channels: 0.51 ms with 1 tap, 3.0 ms with
# 31), which is why few taps and few channels run far below the peak rate. Grouped
# layers with more than a few channels per group run slower than their groups would one
# by one (``xla_group_penalty``; measured, 8 groups of 16 -> 32 channels: twice the
# time of 8 separate convolutions, in 1-D and in 2-D).
PARALLEL_OUT_CHANNELS = 128
PARALLEL_WEIGHTS = 2**17


def route(spec: ConvSpec) -> str:
    """``"f64_1d"``, ``"dilated"``, ``"parallel"`` or ``"serial"``: how XLA runs ``spec``
    (see above).

    Kernel-gradient-shaped specs, grouped ones and 1-D ones count as serial: their
    rates are what the calibrated channel saturation and per-dimensionality factor fit.
    """
    if spec.ndim == 1 and spec.dtype in ("float64", "complex128"):
        return "f64_1d"
    if not forward_shaped(spec) or spec.groups > 1:
        return "serial"
    if math.prod(spec.lhs_dilation) > 1:
        return "dilated"
    weights = spec.out_channels * spec.in_channels * math.prod(spec.kernel_size)
    if (spec.ndim > 1 and spec.out_channels >= PARALLEL_OUT_CHANNELS
            and weights >= PARALLEL_WEIGHTS):
        return "parallel"
    return "serial"


def _estimate(spec: ConvSpec, c) -> tuple[float, int]:
    # XLA's CPU convolution runs near matrix speed with many channels per group and far
    # below it with few (depthwise, small groups), and in slow loops for float64/integers.
    # A kernel-gradient-shaped spec (more kernel taps than output positions) contracts
    # its in_channels with the kernel taps, leaving batch x out_channels outputs per
    # position: that product sets the efficiency there.
    channels = spec.in_channels if forward_shaped(spec) else spec.batch
    way = route(spec)
    if way == "f64_1d":
        rate = c["xla_f64_1d_flops"] / (4.0 if spec.dtype == "complex128" else 1.0)
        if not forward_shaped(spec):
            rate *= c["xla_f64_1d_kernel_grad"]
        elif spec.groups > 1:
            rate /= c["xla_f64_1d_group_penalty"]
        seconds = 2 * spec.macs / rate + operand_bytes(spec) / c["stream_bytes"]
        return seconds + c["launch_seconds"], relayout_bytes(spec)
    if way == "dilated":
        rate = c["xla_dilated_flops"] * saturation(
            channels * spec.out_channels, c["xla_dilated_channel_half"])
    else:
        rate = c["xla_flops"] * saturation(channels * spec.out_channels, c["xla_channel_half"])
        if way == "parallel":
            rate *= c["xla_parallel_speedup"]
        elif spec.groups > 1 and channels > FEW_CHANNELS:
            rate /= c["xla_group_penalty"]
    # a transposed convolution (input dilation, a kernel smaller than the output) skips
    # the inserted zeros; XLA's kernel-gradient form of it does not
    useful = spec.macs
    if forward_shaped(spec):
        useful /= math.prod(spec.lhs_dilation)
    seconds = (
        2 * useful * dtype_factor(spec, "xla", c) / rate
        + math.prod(spec.y_shape) * c["xla_output_seconds"]
        + operand_bytes(spec) / c["stream_bytes"]
        + c["launch_seconds"]
    )
    return seconds, relayout_bytes(spec)


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


def plan(spec: ConvSpec, ctx) -> tuple[Form, ...]:
    """XLA runs every spec: one form (``xla.f64_1d`` on that route, else ``xla``)."""
    seconds, workspace = _estimate(spec, ctx.constants)
    key = "xla.f64_1d" if route(spec) == "f64_1d" else "xla"
    return (Form(key, seconds, workspace, lambda x, w, p: run(x, w, spec, p), exact=True),)


ALGORITHM = Algorithm(
    "xla", "jax.lax.conv_general_dilated (XLA's convolution: cuDNN on GPUs, the TPU's "
    "convolution units)", ("xla", "xla.f64_1d"), plan
)
