"""The convolution algorithms. Each module defines one `Algorithm`.

An algorithm computes the canonical grouped cross-correlation of `jconv._spec.ConvSpec`
(x: ``(N, G, Ci, *S)``, w: ``(G, Co, Ci, *K)`` -> y: ``(N, G, Co, *O)``) for every spec
it supports. The forward pass and both VJPs are such specs, so one algorithm serves all
three passes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from .._spec import ConvSpec


class Cost(NamedTuple):
    """Estimated run time (seconds on the calibration machine) and workspace (bytes)."""

    seconds: float
    workspace: int


class Algorithm(NamedTuple):
    """One way to compute a `ConvSpec`.

    ``supports(spec)`` returns None when the algorithm can run ``spec``, else the reason
    it cannot; ``cost(spec)`` estimates its `Cost`; ``run(x, w, spec, precision)``
    traces the computation on canonical arrays (already in the compute dtype).
    """

    name: str
    summary: str
    supports: Callable[[ConvSpec], str | None]
    cost: Callable[[ConvSpec], Cost]
    run: Callable


def _registry() -> dict[str, Algorithm]:
    from . import col2im, fft, im2col, polyphase, taps, winograd, xla

    return {
        alg.name: alg
        for alg in (
            xla.ALGORITHM, taps.ALGORITHM, im2col.ALGORITHM, col2im.ALGORITHM,
            polyphase.ALGORITHM, fft.ALGORITHM, winograd.ALGORITHM,
        )
    }


REGISTRY: dict[str, Algorithm] = _registry()
