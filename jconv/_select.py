"""Choosing an algorithm per pass, and explaining the choice."""

from __future__ import annotations

import dataclasses

import numpy as np

from ._algorithms import REGISTRY, Cost
from ._spec import ConvSpec


def algorithms() -> tuple[str, ...]:
    """The names of the available convolution algorithms, for ``algorithm=...``.

    Example:
        >>> import jconv
        >>> "xla" in jconv.algorithms()
        True
    """
    return tuple(REGISTRY)


def check_algorithm(fn: str, algorithm) -> str:
    """Validate an ``algorithm=`` argument ("auto" or a registered name)."""
    if not isinstance(algorithm, str) or (algorithm != "auto" and algorithm not in REGISTRY):
        names = ", ".join(repr(n) for n in REGISTRY)
        raise ValueError(f"{fn}: algorithm must be 'auto' or one of {names}, got {algorithm!r}")
    return algorithm


def _refusal(name: str, spec: ConvSpec) -> str | None:
    """Why ``name`` cannot run ``spec`` (None when it can), including dtype rules."""
    return REGISTRY[name].supports(spec)


@dataclasses.dataclass(frozen=True)
class Candidate:
    name: str
    cost: Cost | None        # None when unsupported
    reason: str | None       # why unsupported


@dataclasses.dataclass(frozen=True)
class PassPlan:
    """The candidates for one pass and the one chosen."""

    role: str
    spec: ConvSpec
    candidates: tuple[Candidate, ...]
    chosen: str


def candidates(spec: ConvSpec) -> tuple[Candidate, ...]:
    out = []
    for name, alg in REGISTRY.items():
        reason = _refusal(name, spec)
        out.append(Candidate(name, None if reason else alg.cost(spec), reason))
    return tuple(out)


def choose(spec: ConvSpec, algorithm: str = "auto", role: str = "forward", fn: str = "jconv") -> str:
    """The algorithm that runs ``spec``: the cheapest supported one for ``"auto"``.

    A forced algorithm that cannot run ``spec`` raises ValueError saying why.
    """
    if algorithm != "auto":
        reason = _refusal(algorithm, spec)
        if reason:
            raise ValueError(
                f"{fn}: algorithm={algorithm!r} cannot compute the {role.replace('_', ' ')} "
                f"pass: {reason}"
            )
        return algorithm
    supported = [c for c in candidates(spec) if c.cost is not None]
    return min(supported, key=lambda c: c.cost.seconds).name


def plan(spec: ConvSpec, role: str, algorithm: str = "auto") -> PassPlan:
    return PassPlan(role, spec, candidates(spec), choose(spec, algorithm, role))


@dataclasses.dataclass(frozen=True)
class Plan:
    """What `jconv.explain` returns: one `PassPlan` per pass. ``str(plan)`` renders it."""

    description: str
    passes: tuple[PassPlan, ...]

    def __getitem__(self, role: str) -> PassPlan:
        for p in self.passes:
            if p.role == role:
                return p
        raise KeyError(role)

    def __str__(self) -> str:
        lines = [self.description]
        for p in self.passes:
            s = p.spec
            lines.append("")
            lines.append(
                f"{p.role}: chosen {p.chosen!r}  ({s.macs:,} multiply-adds; x {s.x_shape}, "
                f"w {s.w_shape} -> y {s.y_shape} in (N, G, C, *spatial) form)"
            )
            lines.append(f"  {'algorithm':<10} {'est. time':>12} {'workspace':>12}  note")
            for c in p.candidates:
                if c.cost is None:
                    lines.append(f"  {c.name:<10} {'-':>12} {'-':>12}  unsupported: {c.reason}")
                else:
                    mark = "<- chosen" if c.name == p.chosen else ""
                    lines.append(
                        f"  {c.name:<10} {_fmt_time(c.cost.seconds):>12} "
                        f"{_fmt_bytes(c.cost.workspace):>12}  {mark}"
                    )
        return "\n".join(lines)

    __repr__ = __str__


def _fmt_time(t: float) -> str:
    for unit, scale in (("s", 1), ("ms", 1e-3), ("us", 1e-6)):
        if t >= scale:
            return f"{t / scale:.3g} {unit}"
    return f"{t * 1e9:.3g} ns"


def _fmt_bytes(b: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if b >= scale:
            return f"{b / scale:.3g} {unit}"
    return f"{b} B"


def explain_spec(description: str, spec: ConvSpec, algorithm: str, differentiable: bool) -> Plan:
    passes = [plan(spec, "forward", algorithm)]
    if differentiable:
        passes.append(plan(spec.input_grad(), "input_grad", algorithm))
        passes.append(plan(spec.kernel_grad(), "kernel_grad", algorithm))
    return Plan(description, tuple(passes))


def is_differentiable(dtype) -> bool:
    return np.dtype(dtype).kind in "fc"

