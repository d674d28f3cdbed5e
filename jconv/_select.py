"""Choosing an algorithm per pass, and explaining the choice.

Every pass (forward, input gradient, kernel gradient) is its own `ConvSpec`, so each is
chosen on its own:

* ``algorithm="auto"``: the supported algorithm with the least estimated time
  (`Algorithm.cost`, a model calibrated on this machine by ``benchmarks/calibrate.py``)
  among those whose workspace fits the limit (`set_workspace_limit`).
* ``algorithm="measure"``: the supported algorithms within the limit (and within
  `MEASURE_FACTOR` of the best estimate) are compiled and timed once per spec on random
  data of its shapes, outside any trace, and the fastest is cached and reused, like
  cuDNN's benchmark mode.
* a registered name: that algorithm, or a ValueError saying why it cannot run the spec.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import threading
import time

import numpy as np

from ._algorithms import REGISTRY, Cost
from ._algorithms._calibration import CONSTANTS
from ._algorithms._common import few_channels, operand_bytes
from ._spec import ConvSpec

POLICIES = ("auto", "measure")

WORKSPACE_FACTOR = 8
"""Default workspace limit: this many times the bytes of x, w and y together ..."""
WORKSPACE_FLOOR = 64 * 2**20
"""... but never less than this many bytes (64 MiB)."""
MEASURE_FACTOR = 10.0
"""Measured mode times only candidates estimated within this factor of the best."""

_limit: int | None = None
_measured: dict[ConvSpec, str] = {}
_measured_times: dict[ConvSpec, dict[str, float]] = {}
_lock = threading.Lock()


def algorithms() -> tuple[str, ...]:
    """The names of the available convolution algorithms, for ``algorithm=...``.

    Besides these names, ``algorithm`` accepts ``"auto"`` (the cheapest by the calibrated
    cost model, within the workspace limit) and ``"measure"`` (time the candidates once
    per configuration and cache the fastest).

    Returns:
        A tuple of names, e.g. ``("xla", "taps", "im2col", "polyphase", ...)``.

    Example:
        >>> import jconv
        >>> "xla" in jconv.algorithms()
        True
    """
    return tuple(REGISTRY)


def set_workspace_limit(limit: int | None) -> int | None:
    """Bound the scratch memory an automatically chosen algorithm may allocate.

    ``algorithm="auto"`` and ``"measure"`` only consider algorithms whose estimated
    workspace (patch matrices, padded transforms, phase buffers and re-laid operands;
    shown by `jconv.explain`) is at most the limit; when none fits, the one with the
    least workspace runs. A forced algorithm is not bounded. The estimates are tested to
    stay within 1.5x (plus 1 MiB) of the scratch memory XLA allocates for the compiled
    algorithm. ``None`` restores the default, per convolution pass,

    $$\\text{limit} = \\max(8 \\cdot \\text{bytes}(x, w, y),\\ 64\\,\\text{MiB}).$$

    The limit is read when a function is traced: it applies to calls traced after this
    one (jconv's own compiled functions and measured choices are cleared so that their
    next call plans again).
    It is a process-wide setting, as ``torch.backends.cudnn.benchmark`` is.

    Args:
        limit: a number of bytes (>= 0), or None for the default rule.

    Returns:
        The previous limit (None when it was the default).

    Raises:
        TypeError: ``limit`` is not an int or None.
        ValueError: ``limit`` is negative.

    Example:
        >>> import jconv
        >>> old = jconv.set_workspace_limit(0)      # the least workspace: XLA's own
        >>> jconv.explain((1, 8, 32, 32), (8, 8, 3, 3))["forward"].chosen
        'xla'
        >>> _ = jconv.set_workspace_limit(old)
    """
    global _limit
    if limit is not None and (
        not isinstance(limit, (int, np.integer)) or isinstance(limit, (bool, np.bool_))
    ):
        raise TypeError(
            f"jconv.set_workspace_limit: limit must be an int number of bytes or None, "
            f"got {limit!r}"
        )
    if limit is not None and limit < 0:
        raise ValueError(f"jconv.set_workspace_limit: limit must be >= 0 bytes, got {limit}")
    previous, _limit = _limit, None if limit is None else int(limit)
    _clear_compiled()
    clear_measurements()  # measured choices were made within the old limit
    return previous


def _clear_compiled() -> None:
    """Forget jconv's compiled functions, so their next call plans again."""
    conv = sys.modules.get("jconv._conv")
    primitive = sys.modules.get("jconv._primitive")
    for module in (conv, primitive):
        if module is None:
            continue
        for value in vars(module).values():
            clear = getattr(value, "clear_cache", None)
            if callable(clear) and hasattr(value, "lower"):
                clear()


def workspace_limit(spec: ConvSpec) -> int:
    """The workspace bound (bytes) that applies to ``spec`` now."""
    if _limit is not None:
        return _limit
    return max(WORKSPACE_FACTOR * operand_bytes(spec), WORKSPACE_FLOOR)


def check_algorithm(fn: str, algorithm) -> str:
    """Validate an ``algorithm=`` argument ("auto", "measure" or a registered name)."""
    if not isinstance(algorithm, str) or (
        algorithm not in POLICIES and algorithm not in REGISTRY
    ):
        names = ", ".join(repr(n) for n in REGISTRY)
        raise ValueError(
            f"{fn}: algorithm must be 'auto' or one of {names}, or 'measure' (time the "
            f"candidates), got {algorithm!r}"
        )
    return algorithm


def _refusal(name: str, spec: ConvSpec) -> str | None:
    """Why ``name`` cannot run ``spec`` (None when it can), including dtype rules."""
    return REGISTRY[name].supports(spec)


@dataclasses.dataclass(frozen=True)
class Candidate:
    """One algorithm for one pass: its estimate, or why it cannot run the pass.

    ``cost`` is None when unsupported (``reason`` says why); ``over_limit`` marks a
    supported algorithm whose workspace exceeds the limit; ``measured`` is the timed
    seconds in measured mode (None otherwise).
    """

    name: str
    cost: Cost | None
    reason: str | None
    over_limit: bool = False
    measured: float | None = None


@dataclasses.dataclass(frozen=True)
class PassPlan:
    """The candidates for one pass, the one chosen, and the workspace limit applied.

    ``chosen`` is None when a forced algorithm cannot run this pass (calling the pass
    would raise; the forced algorithm's candidate says why).
    """

    role: str
    spec: ConvSpec
    candidates: tuple[Candidate, ...]
    chosen: str | None
    limit: int


def kernel_class(spec: ConvSpec) -> str:
    """``"pointwise"`` (one tap), ``"small"`` (up to 49 taps) or ``"large"``."""
    taps = math.prod(spec.kernel_size)
    return "pointwise" if taps == 1 else "small" if taps <= 49 else "large"


def estimate(name: str, spec: ConvSpec) -> Cost:
    """``REGISTRY[name].cost(spec)`` times the algorithm's calibrated scale.

    ``benchmarks/calibrate.py`` fits scales per algorithm and kernel class, and factors
    per number of spatial dims and for few channels per group (median ratios of measured
    to modelled time over a set of typical convolutions), which absorb what a model leaves
    out, so that estimates of different algorithms compare fairly. ``taps`` and
    ``im2col`` scale their forms themselves.
    """
    c = REGISTRY[name].cost(spec)
    scale = CONSTANTS.get(
        f"scale_{name}_{kernel_class(spec)}", CONSTANTS.get(f"scale_{name}", 1.0)
    ) * CONSTANTS.get(f"scale_{name}_{spec.ndim}d", 1.0)
    if few_channels(spec):
        scale *= CONSTANTS.get(f"scale_{name}_few", 1.0)
    return Cost(c.seconds * scale, c.workspace)


def candidates(spec: ConvSpec) -> tuple[Candidate, ...]:
    """Every registered algorithm for ``spec``, with its estimate or refusal."""
    limit = workspace_limit(spec)
    times = _measured_times.get(spec, {})
    out = []
    for name in REGISTRY:
        reason = _refusal(name, spec)
        if reason:
            out.append(Candidate(name, None, reason))
            continue
        c = estimate(name, spec)
        out.append(Candidate(name, c, None, c.workspace > limit, times.get(name)))
    return tuple(out)


def _eligible(spec: ConvSpec) -> list[Candidate]:
    """Supported candidates within the workspace limit (the least-workspace one if none)."""
    supported = [c for c in candidates(spec) if c.cost is not None]
    within = [c for c in supported if not c.over_limit]
    if within:
        return within
    least = min(c.cost.workspace for c in supported)
    return [c for c in supported if c.cost.workspace == least]


def choose(
    spec: ConvSpec, algorithm: str = "auto", role: str = "forward", fn: str = "jconv"
) -> str:
    """The algorithm that runs ``spec`` under the policy ``algorithm``.

    ``"auto"``: the least estimated time within the workspace limit. ``"measure"``: the
    fastest measured (cached per spec). A name: that algorithm, checked.

    Raises:
        ValueError: a forced algorithm cannot run ``spec``; the message names the pass
            and the reason.
    """
    if algorithm not in POLICIES:
        reason = _refusal(algorithm, spec)
        if reason:
            raise ValueError(
                f"{fn}: algorithm={algorithm!r} cannot compute the {role.replace('_', ' ')} "
                f"pass: {reason}"
            )
        return algorithm
    if algorithm == "measure":
        return measure(spec)
    return min(_eligible(spec), key=lambda c: c.cost.seconds).name


# -- measured mode ----------------------------------------------------------------------


def measure(spec: ConvSpec) -> str:
    """Time the plausible algorithms for ``spec`` once and cache the fastest.

    Runs in a separate thread, so it works while an outer function is being traced: each
    candidate is compiled for the spec's shapes and run on random data (a warm-up, then
    the best of three runs).
    """
    if spec.is_empty:
        return choose(spec, "auto")
    with _lock:
        if spec in _measured:
            return _measured[spec]
    result: dict[str, float] = {}
    error: list[BaseException] = []

    def work():
        try:
            result.update(_time_candidates(spec))
        except BaseException as e:  # reported in the calling thread
            error.append(e)

    worker = threading.Thread(target=work, name="jconv-measure")
    worker.start()
    worker.join()
    if error:
        raise error[0]
    best = min(result, key=result.get)
    with _lock:
        _measured[spec] = best
        _measured_times[spec] = dict(result)
    return best


def measured_choices() -> dict[ConvSpec, str]:
    """A copy of the measured-mode cache: spec -> fastest algorithm."""
    with _lock:
        return dict(_measured)


def clear_measurements() -> None:
    """Forget every measured choice."""
    with _lock:
        _measured.clear()
        _measured_times.clear()


def _time_candidates(spec: ConvSpec) -> dict[str, float]:
    import jax

    eligible = _eligible(spec)
    best = min(c.cost.seconds for c in eligible)
    names = [c.name for c in eligible if c.cost.seconds <= MEASURE_FACTOR * best]
    dtype = np.dtype(spec.dtype)
    if dtype.name in ("float16", "bfloat16"):
        dtype = np.dtype(np.float32)  # algorithms run half precision in float32
    rng = np.random.default_rng(0)
    x, w = (_random(rng, shape, dtype) for shape in (spec.x_shape, spec.w_shape))
    x, w = jax.device_put(x), jax.device_put(w)
    times = {}
    for name in names:
        alg = REGISTRY[name]
        fn = jax.jit(lambda a, b, alg=alg: alg.run(a, b, spec, None))
        compiled = fn.lower(x, w).compile()
        compiled(x, w).block_until_ready()
        runs = []
        for _ in range(3):
            t0 = time.perf_counter()
            compiled(x, w).block_until_ready()
            runs.append(time.perf_counter() - t0)
        times[name] = min(runs)
    return times


def _random(rng, shape, dtype):
    if dtype.kind in "iub":
        return rng.integers(-3, 4, shape).astype(dtype)
    if dtype.kind == "c":
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)
    return rng.standard_normal(shape).astype(dtype)


# -- explain ----------------------------------------------------------------------------


def plan(spec: ConvSpec, role: str, algorithm: str = "auto") -> PassPlan:
    """The `PassPlan` of one pass; a forced algorithm that cannot run it is chosen as None
    (its candidate row says why)."""
    if algorithm not in POLICIES and _refusal(algorithm, spec):
        chosen = None
    else:
        chosen = choose(spec, algorithm, role)
    return PassPlan(role, spec, candidates(spec), chosen, workspace_limit(spec))


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
                f"{p.role}: "
                + (f"chosen {p.chosen!r}" if p.chosen else "the forced algorithm cannot run")
                + f"  ({s.macs:,} multiply-adds; x {s.x_shape}, "
                f"w {s.w_shape} -> y {s.y_shape} in (N, G, C, *spatial) form; workspace "
                f"limit {_fmt_bytes(p.limit)})"
            )
            timed = any(c.measured is not None for c in p.candidates)
            head = f"  {'algorithm':<10} {'est. time':>10} {'workspace':>10}"
            lines.append(head + (f" {'measured':>10}" if timed else "") + "  note")
            for c in p.candidates:
                if c.cost is None:
                    blank = f"  {c.name:<10} {'-':>10} {'-':>10}" + (f" {'-':>10}" if timed else "")
                    lines.append(f"{blank}  unsupported: {c.reason}")
                    continue
                row = f"  {c.name:<10} {_fmt_time(c.cost.seconds):>10} {_fmt_bytes(c.cost.workspace):>10}"
                if timed:
                    row += f" {_fmt_time(c.measured) if c.measured is not None else '-':>10}"
                notes = []
                if c.name == p.chosen:
                    notes.append("<- chosen")
                how = _detail(c.name, s)
                if how:
                    notes.append(how)
                if c.over_limit:
                    notes.append("workspace over the limit")
                lines.append(row + ("  " + "; ".join(notes) if notes else ""))
        return "\n".join(lines)

    __repr__ = __str__


def _detail(name: str, spec: ConvSpec) -> str | None:
    """The algorithm module's ``detail(spec)`` (its form, steps or phases), if it has one."""
    module = sys.modules.get(REGISTRY[name].run.__module__)
    detail = getattr(module, "detail", None)
    return detail(spec) if callable(detail) else None


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
