"""The benchmark cases: shapes typical of real networks and signal processing.

Each case is a convolution layer, a transposed convolution, or a signal convolution,
given once; `benchmarks/run.py` builds the jconv, jax.lax, PyTorch and SciPy versions
of it. ``flops`` counts the useful multiply-adds of the forward pass (no products with
inserted zeros), times two.
"""

from __future__ import annotations

import dataclasses
import math


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    title: str
    kind: str                      # "conv", "conv_transpose" or "signal"
    x_shape: tuple[int, ...]
    w_shape: tuple[int, ...]
    stride: int = 1
    padding: int = 0
    dilation: int = 1
    groups: int = 1
    output_padding: int = 0
    dtype: str = "float32"

    @property
    def ndim(self) -> int:
        return len(self.x_shape) - (1 if self.kind == "signal" else 2)

    @property
    def flops(self) -> int:
        """2 x useful multiply-adds of the forward pass."""
        if self.kind == "signal":
            return 2 * math.prod(self.x_shape) * self.w_shape[-1]
        n, c_in = self.x_shape[:2]
        k = math.prod(self.w_shape[2:])
        if self.kind == "conv_transpose":
            c_out = self.w_shape[1] * self.groups
            return 2 * n * c_in * (c_out // self.groups) * math.prod(self.x_shape[2:]) * k
        c_out = self.w_shape[0]
        out = [
            (s + 2 * self.padding - self.dilation * (kk - 1) - 1) // self.stride + 1
            for s, kk in zip(self.x_shape[2:], self.w_shape[2:])
        ]
        return 2 * n * c_out * (c_in // self.groups) * k * math.prod(out)


CASES = [
    Case("dense3x3", "dense 3x3, 64->64, 56x56, N=8", "conv",
         (8, 64, 56, 56), (64, 64, 3, 3), padding=1),
    Case("pointwise", "pointwise 1x1, 128->256, 28x28, N=8", "conv",
         (8, 128, 28, 28), (256, 128, 1, 1)),
    Case("grouped", "grouped 3x3 (ResNeXt, 32 groups of 4), 128ch, 28x28, N=8", "conv",
         (8, 128, 28, 28), (128, 4, 3, 3), padding=1, groups=32),
    Case("depthwise3x3", "depthwise 3x3, 64ch, 56x56, N=8", "conv",
         (8, 64, 56, 56), (64, 1, 3, 3), padding=1, groups=64),
    Case("depthwise31", "depthwise 31x31, 64ch, 32x32, N=4", "conv",
         (4, 64, 32, 32), (64, 1, 31, 31), padding=15, groups=64),
    Case("dense15", "dense 15x15, 16->16, 64x64, N=4", "conv",
         (4, 16, 64, 64), (16, 16, 15, 15), padding=7),
    Case("signal1d", "1-D signal 65536 * kernel 2048 (full), batch 4", "signal",
         (4, 65536), (1, 2048)),
    Case("multichannel1d", "1-D 64->64 channels, k=9, length 4096, N=8", "conv",
         (8, 64, 4096), (64, 64, 9), padding=4),
    Case("conv3d", "3-D 3x3x3, 32->32, 16x32x32, N=2", "conv",
         (2, 32, 16, 32, 32), (32, 32, 3, 3, 3), padding=1),
    Case("float64", "float64 dense 3x3, 64->64, 28x28, N=8", "conv",
         (8, 64, 28, 28), (64, 64, 3, 3), padding=1, dtype="float64"),
    Case("strided", "strided 3x3 s=2, 64->128, 56x56, N=8", "conv",
         (8, 64, 56, 56), (128, 64, 3, 3), stride=2, padding=1),
    Case("transposed", "transposed 4x4 s=2, 128->64, 16x16 -> 32x32, N=8", "conv_transpose",
         (8, 128, 16, 16), (128, 64, 4, 4), stride=2, padding=1),
]

BY_NAME = {c.name: c for c in CASES}
