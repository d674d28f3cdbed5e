"""The convolution algorithms: one module per algorithm, one question per spec.

An algorithm computes the canonical grouped cross-correlation of `jconv._spec.ConvSpec`
(x: ``(N, G, Ci, *S)``, w: ``(G, Co, Ci, *K)`` -> y: ``(N, G, Co, *O)``). The forward
pass and both VJPs are such specs, so one algorithm serves all three passes.

Every algorithm answers ``plan(spec, ctx)``: either the reason it cannot run ``spec``
(a string) or its forms, each a way to run it with a raw estimate of its time and
workspace. Estimates are raw: the selector alone scales them by the calibration
(`jconv._select`). Composite algorithms get the selector's choice for their sub-problems
through ``ctx.choose``; no module here imports the selector.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NamedTuple

from .._spec import ConvSpec


class Form(NamedTuple):
    """One way to run a spec.

    ``key`` names its calibrated scale (``"taps.fma"``); ``seconds`` and ``workspace``
    are the raw model's estimate; ``run(x, w, precision)`` traces the computation on
    canonical arrays (already in the compute dtype); ``detail`` is a few words for
    `jconv.explain`. ``exact`` marks a form whose every output is a sum of exactly the
    products XLA's convolution sums, with the same zeros, on every platform: the forms
    ``precision=HIGHEST`` allows (XLA's own; the direct methods without padding or
    input dilation, `_common.exact_products`).
    """

    key: str
    seconds: float
    workspace: int
    run: Callable
    detail: str = ""
    exact: bool = False


class Choice(NamedTuple):
    """The selector's answer for a spec: the algorithm, its form, the calibrated time."""

    name: str
    form: Form
    seconds: float

    @property
    def workspace(self) -> int:
        return self.form.workspace

    def run(self, x, w, precision=None):
        return self.form.run(x, w, precision)


class Context(NamedTuple):
    """What a plan may use: the machine ``constants`` of the raw cost models, and
    ``choose(spec) -> Choice``, the selector's choice for a sub-problem."""

    constants: Mapping[str, float]
    choose: Callable[[ConvSpec], Choice]


Plan = tuple[Form, ...] | str
"""What ``plan(spec, ctx)`` returns: the forms (at least one), or why it refuses."""


class Algorithm(NamedTuple):
    """One way to compute a `ConvSpec`: ``plan(spec, ctx) -> Plan``; ``forms`` lists
    every calibration key its plans may use (each needs a calibrated scale)."""

    name: str
    summary: str
    forms: tuple[str, ...]
    plan: Callable[[ConvSpec, Context], Plan]


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
