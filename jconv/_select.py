"""Choosing an algorithm per pass and platform, and explaining the choice.

Every pass (forward, input gradient, kernel gradient) is its own `ConvSpec`, and every
platform a computation is lowered for (cpu, cuda, rocm, tpu) plans with its own
calibration (`jconv._calibration`):

* ``algorithm="auto"``: the form with the least calibrated time (`scale`: the one rule
  that turns a raw estimate into one) among those whose workspace fits the limit
  (`set_workspace_limit`). A platform without a calibration, and a spec with symbolic
  dimensions, get XLA's convolution.
* ``algorithm="measure"``: the candidates within the limit (and within `MEASURE_FACTOR`
  of the best estimate) are compiled and timed once per spec on the device the
  computation is lowered for, and the fastest is kept, in memory and in the device's
  user calibration file, so that other processes make the same choice. Where that
  device is not attached (an export for another platform) it is ``auto``.
* a registered name: that algorithm, or `AlgorithmRefused` saying why it cannot run.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import threading
import time

import numpy as np

from . import _calibration
from ._algorithms import REGISTRY, Choice, Context, Form
from ._algorithms._common import few_channels, operand_bytes
from ._spec import ConvSpec, is_highest

POLICIES = ("auto", "measure")
PLATFORMS = ("cpu", "cuda", "rocm", "tpu")

WORKSPACE_FACTOR = 8
"""Default workspace limit: this many times the bytes of x, w and y together ..."""
WORKSPACE_FLOOR = 64 * 2**20
"""... but never less than this many bytes (64 MiB)."""
MEASURE_FACTOR = 10.0
"""Measured mode times only candidates estimated within this factor of the best."""

_limit: int | None = None
_measured: dict[tuple[str, ConvSpec, bool], str] = {}  # (platform, spec, exact) -> name
_measured_times: dict[tuple[str, ConvSpec, bool], dict[str, float]] = {}
_lock = threading.Lock()
_compiled: list = []


class AlgorithmRefused(ValueError):
    """A forced algorithm cannot run a pass of the convolution; the message says why.

    Example:
        >>> import jax.numpy as jnp, jconv
        >>> try:
        ...     jconv.conv(jnp.ones((1, 1, 8), jnp.int32), jnp.ones((1, 1, 3), jnp.int32),
        ...                algorithm="fft")
        ... except jconv.AlgorithmRefused as e:
        ...     print("refused")
        refused
    """


def algorithms() -> tuple[str, ...]:
    """The names of the available convolution algorithms, for ``algorithm=...``.

    Besides these names, ``algorithm`` accepts ``"auto"`` (the cheapest by the calibrated
    cost model, within the workspace limit) and ``"measure"`` (time the candidates once
    per configuration and keep the fastest).

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
    one (jconv's own compiled functions are cleared so that their next call plans
    again). It is a process-wide setting, as ``torch.backends.cudnn.benchmark`` is.

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
    clear_plans()
    return previous


def compiled(fn):
    """Register one of jconv's jitted functions, so that `clear_plans` clears it."""
    _compiled.append(fn)
    return fn


def clear_plans() -> None:
    """Forget cached plans, in-memory measured choices, calibrations read and jconv's
    compiled functions, so that the next call plans again (after a new limit or
    calibration)."""
    _planner.cache_clear()
    _calibration.reload()
    with _lock:
        _measured.clear()
        _measured_times.clear()
    for fn in _compiled:
        fn.clear_cache()


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


def kernel_class(spec: ConvSpec) -> str:
    """``"pointwise"`` (one tap), ``"small"`` (up to 49 taps) or ``"large"``."""
    taps = math.prod(spec.kernel_size)
    return "pointwise" if taps == 1 else "small" if taps <= 49 else "large"


def scale(scales, key: str, spec: ConvSpec) -> float:
    """The calibrated factor of form ``key`` for ``spec``: the one rule.

    ``scales[key]`` holds a ``base`` scale, optionally one per kernel class that replaces
    it (``pointwise``, ``small``, ``large``), and optional factors per number of spatial
    dims (``1d``, ``2d``, ``3d``) and for few channels per group (``few``, see
    `few_channels`). The calibration fits each as the median ratio of measured to raw
    estimated time, and keeps a refinement only where it differs by more than 25%.
    """
    s = scales[key]
    factor = s.get(kernel_class(spec), s["base"]) * s.get(f"{spec.ndim}d", 1.0)
    if few_channels(spec):
        factor *= s.get("few", 1.0)
    return factor


def is_static(spec: ConvSpec) -> bool:
    """Whether every size of ``spec`` is a known integer (not a symbolic dimension)."""
    sizes = (spec.batch, spec.groups, spec.in_channels, spec.out_channels, *spec.in_size,
             *spec.kernel_size)
    return all(isinstance(v, (int, np.integer)) for v in sizes)


# -- planning ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Candidate:
    """One algorithm for one pass: its cheapest form's calibrated estimate, or why it
    cannot run the pass.

    ``seconds`` and ``workspace`` are None when unsupported (``reason`` says why);
    ``seconds`` is also None on a platform without calibration. ``over_limit`` marks a
    workspace above the limit; ``measured`` is the timed seconds in measured mode;
    ``detail`` says how the form runs; ``exact`` that it does exactly XLA's products
    (`Form.exact`: the algorithms ``precision=HIGHEST`` allows).
    """

    name: str
    seconds: float | None
    workspace: int | None
    reason: str | None
    over_limit: bool = False
    measured: float | None = None
    detail: str = ""
    exact: bool = False


class Planner:
    """The plans of one platform under one calibration (None: uncalibrated)."""

    def __init__(self, platform: str, calibration):
        self.platform = platform
        self.calibration = calibration
        # uncalibrated platforms still plan forced algorithms (their inner choices) with
        # the reference constants; every choice of theirs is XLA's convolution
        constants = (calibration or _calibration.reference()).constants
        self.context = Context(constants, self.auto)
        self._plans: dict[ConvSpec, dict[str, object]] = {}
        self._auto: dict[tuple[ConvSpec, bool], Choice] = {}

    def plans(self, spec: ConvSpec) -> dict[str, object]:
        """Every algorithm's answer for ``spec``: its forms, or why it refuses."""
        if spec not in self._plans:
            out = {}
            for name, alg in REGISTRY.items():
                answer = alg.plan(spec, self.context)
                if not isinstance(answer, str):
                    unknown = {f.key for f in answer} - set(alg.forms)
                    if unknown or not answer:
                        raise RuntimeError(f"jconv: {name} planned unregistered forms {unknown}")
                out[name] = answer
            self._plans[spec] = out
        return self._plans[spec]

    def best_form(self, name: str, spec: ConvSpec, exact: bool = False
                  ) -> tuple[Form, float | None] | None:
        """``name``'s cheapest form for ``spec`` (only exact ones if ``exact``; None if it
        has none) and its calibrated seconds (None when uncalibrated: the first form)."""
        forms = [f for f in self.plans(spec)[name] if f.exact or not exact]
        if not forms:
            return None
        if self.calibration is None:
            return forms[0], None
        timed = [(f.seconds * scale(self.calibration.scales, f.key, spec), f) for f in forms]
        seconds, form = min(timed, key=lambda t: t[0])
        return form, seconds

    def candidates(self, spec: ConvSpec, exact: bool = False) -> tuple[Candidate, ...]:
        """Every algorithm's cheapest form (exact where it has one, if ``exact``)."""
        limit = workspace_limit(spec)
        times = _measured_times.get((self.platform, spec, exact), {})
        out = []
        for name, answer in self.plans(spec).items():
            if isinstance(answer, str):
                out.append(Candidate(name, None, None, answer))
                continue
            form, seconds = self.best_form(name, spec, exact) or self.best_form(name, spec)
            out.append(Candidate(name, seconds, form.workspace, None,
                                 form.workspace > limit, times.get(name), form.detail,
                                 form.exact))
        return tuple(out)

    def eligible(self, spec: ConvSpec, exact: bool = False) -> list[Candidate]:
        """Supported candidates (exact ones if ``exact``) within the workspace limit; the
        least-workspace ones if none is within."""
        supported = [c for c in self.candidates(spec, exact)
                     if c.reason is None and (c.exact or not exact)]
        within = [c for c in supported if not c.over_limit]
        if within:
            return within
        least = min(c.workspace for c in supported)
        return [c for c in supported if c.workspace == least]

    def forced(self, name: str, spec: ConvSpec, exact: bool = False) -> Choice:
        """``name``'s cheapest form (an exact one if ``exact`` and it has one)."""
        form, seconds = self.best_form(name, spec, exact) or self.best_form(name, spec)
        return Choice(name, form, seconds if seconds is not None else math.nan)

    def auto(self, spec: ConvSpec, exact: bool = False) -> Choice:
        """The least calibrated time within the limit (among exact forms if ``exact``);
        XLA's convolution uncalibrated."""
        if (spec, exact) not in self._auto:
            if self.calibration is None:
                choice = self.forced("xla", spec)
            else:
                best = min(self.eligible(spec, exact), key=lambda c: c.seconds)
                choice = self.forced(best.name, spec, exact)
            self._auto[(spec, exact)] = choice
        return self._auto[(spec, exact)]


@functools.cache
def _planner(platform: str) -> Planner:
    return Planner(platform, _calibration.lookup(platform))


def default_platform() -> str:
    import jax

    return jax.default_backend()


def _xla_only(spec: ConvSpec) -> Choice:
    """XLA's convolution, for specs no plan can see (symbolic or empty dimensions)."""
    from ._algorithms import xla

    return Choice("xla", Form("xla", math.nan, 0, lambda x, w, p: xla.run(x, w, spec, p)),
                  math.nan)


def choose(
    spec: ConvSpec, algorithm: str = "auto", role: str = "forward", fn: str = "jconv",
    platform: str | None = None, precision=None,
) -> Choice:
    """The algorithm (and form) that runs ``spec`` on ``platform`` under ``algorithm``;
    with ``precision=HIGHEST`` a policy considers exact forms only (`Form.exact`), a
    forced algorithm is the user's choice under any precision.

    Raises:
        AlgorithmRefused: a forced algorithm cannot run ``spec``; the message names the
            pass and the reason.
    """
    platform = platform or default_platform()
    if spec.is_empty:  # no algorithm runs; XLA's convolution is valid for every size
        return _xla_only(spec)
    if not is_static(spec):
        if algorithm not in POLICIES and algorithm != "xla":
            raise AlgorithmRefused(
                f"{fn}: algorithm={algorithm!r} cannot compute the {role.replace('_', ' ')} "
                f"pass: its sizes are symbolic (shape polymorphism); only 'xla' and "
                f"'auto' can")
        return _xla_only(spec)
    planner = _planner(platform)
    if algorithm not in POLICIES:
        answer = planner.plans(spec)[algorithm]
        if isinstance(answer, str):
            raise AlgorithmRefused(
                f"{fn}: algorithm={algorithm!r} cannot compute the {role.replace('_', ' ')} "
                f"pass: {answer}"
            )
        return planner.forced(algorithm, spec, is_highest(precision))
    exact = is_highest(precision)
    if algorithm == "measure" and planner.calibration is not None:
        return planner.forced(measure(spec, platform, exact), spec, exact)
    return planner.auto(spec, exact)


def check_forced(fn: str, spec: ConvSpec, algorithm: str, role: str) -> None:
    """At call time: `AlgorithmRefused` if a forced algorithm cannot run this pass.
    Policies are planned when the pass is lowered (for its platform), and an empty pass
    runs no algorithm (its result is zeros)."""
    if algorithm not in POLICIES and not spec.is_empty:
        choose(spec, algorithm, role, fn)


def refusal(name: str, spec: ConvSpec, platform: str | None = None) -> str | None:
    """Why algorithm ``name`` cannot run ``spec`` (None when it can)."""
    answer = _planner(platform or default_platform()).plans(spec)[name]
    return answer if isinstance(answer, str) else None


def candidates(spec: ConvSpec, platform: str | None = None, exact: bool = False
               ) -> tuple[Candidate, ...]:
    """Every registered algorithm for ``spec`` on ``platform``, estimated or refused."""
    return _planner(platform or default_platform()).candidates(spec, exact)


# -- measured mode ----------------------------------------------------------------------


def spec_key(spec: ConvSpec, exact: bool = False) -> str:
    """How a measured choice is stored: the spec, the workspace limit and whether only
    exact forms were allowed, as JSON."""
    fields = dataclasses.asdict(spec)
    return json.dumps([fields, workspace_limit(spec)] + (["exact"] if exact else []),
                      sort_keys=True, separators=(",", ":"))


def _attached(platform: str) -> bool:
    import jax

    try:
        return bool(jax.devices(platform))
    except RuntimeError:
        return False


def measure(spec: ConvSpec, platform: str | None = None, exact: bool = False) -> str:
    """Time the plausible algorithms for ``spec`` once on ``platform``'s device and keep
    the fastest (in memory and in the device's user calibration file).

    A choice stored by an earlier process is reused without timing. Runs in a separate
    thread, so it works while an outer function is being traced: each candidate is
    compiled for the spec's shapes and run on random data (a warm-up, then the best of
    three runs). Where the platform's device is not attached, returns auto's choice.
    ``exact``: only exact forms compete (``precision=HIGHEST``).
    """
    platform = platform or default_platform()
    planner = _planner(platform)
    if spec.is_empty:
        return "xla"
    if planner.calibration is None or not _attached(platform):
        return planner.auto(spec, exact).name
    memo = (platform, spec, exact)
    with _lock:
        if memo in _measured:
            return _measured[memo]
    key = spec_key(spec, exact)
    stored = _calibration.stored_choices(platform).get(key)
    if stored in {c.name for c in planner.eligible(spec, exact)}:
        with _lock:
            _measured[memo] = stored
        return stored
    result: dict[str, float] = {}
    error: list[BaseException] = []

    def work():
        try:
            result.update(_time_candidates(planner, spec, exact))
        except BaseException as e:  # reported in the calling thread
            error.append(e)

    worker = threading.Thread(target=work, name="jconv-measure")
    worker.start()
    worker.join()
    if error:
        raise error[0]
    best = min(result, key=result.get)
    with _lock:
        _measured[memo] = best
        _measured_times[memo] = dict(result)
    _calibration.update_user_file(platform, measured={key: best})
    return best


def measured_choices() -> dict[ConvSpec, str]:
    """A copy of this process's measured choices on the default platform: spec -> name."""
    platform = default_platform()
    with _lock:
        return {s: n for (p, s, _), n in _measured.items() if p == platform}


def _time_candidates(planner: Planner, spec: ConvSpec, exact: bool = False
                     ) -> dict[str, float]:
    import jax

    eligible = planner.eligible(spec, exact)
    best = min(c.seconds for c in eligible)
    names = [c.name for c in eligible if c.seconds <= MEASURE_FACTOR * best]
    dtype = np.dtype(spec.dtype)
    if dtype.name in ("float16", "bfloat16"):
        dtype = np.dtype(np.float32)  # algorithms run half precision in float32
    device = jax.devices(planner.platform)[0]
    rng = np.random.default_rng(0)
    x, w = (jax.device_put(_random(rng, shape, dtype), device)
            for shape in (spec.x_shape, spec.w_shape))
    times = {}
    for name in names:
        choice = planner.forced(name, spec, exact)
        compiled_fn = jax.jit(lambda a, b, c=choice: c.run(a, b, None)).lower(x, w).compile()
        compiled_fn(x, w).block_until_ready()
        runs = []
        for _ in range(3):
            t0 = time.perf_counter()
            compiled_fn(x, w).block_until_ready()
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


EMPTY = "an operand or the result has no elements: the result is zeros and no algorithm runs"


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
    highest: bool = False


def plan(spec: ConvSpec, role: str, algorithm: str = "auto", platform: str | None = None,
         precision=None) -> PassPlan:
    """The `PassPlan` of one pass on ``platform``; a forced algorithm that cannot run
    it is chosen as None (its candidate row says why)."""
    exact = is_highest(precision)
    if spec.is_empty:
        empty = tuple(Candidate(name, None, None, EMPTY) for name in REGISTRY)
        return PassPlan(role, spec, empty, None, workspace_limit(spec), exact)
    planner = _planner(platform or default_platform())
    try:
        chosen = choose(spec, algorithm, role, platform=planner.platform,
                        precision=precision).name
    except AlgorithmRefused:
        chosen = None
    return PassPlan(role, spec, planner.candidates(spec, exact), chosen,
                    workspace_limit(spec), exact)


@dataclasses.dataclass(frozen=True)
class Plan:
    """What `jconv.explain` returns: one `PassPlan` per pass. ``str(plan)`` renders it.

    ``platform`` is the platform planned for and ``calibration`` the calibration used
    (None: XLA's convolution runs every pass).
    """

    description: str
    passes: tuple[PassPlan, ...]
    platform: str = "cpu"
    calibration: str | None = None

    def __getitem__(self, role: str) -> PassPlan:
        for p in self.passes:
            if p.role == role:
                return p
        raise KeyError(role)

    def __str__(self) -> str:
        lines = [self.description]
        if self.calibration is None:
            lines.append(
                f"platform {self.platform}: no calibration for this device, so XLA's "
                f"convolution runs every pass (auto and measure); run `python -m "
                f"jconv.calibrate` on the device to calibrate it")
        else:
            lines.append(f"platform {self.platform}, calibration {self.calibration}")
        for p in self.passes:
            s = p.spec
            lines.append("")
            if s.is_empty:
                lines.append(f"{p.role}: empty ({EMPTY}); x {s.x_shape}, w {s.w_shape} -> "
                             f"y {s.y_shape} in (N, G, C, *spatial) form")
                continue
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
                if c.reason is not None:
                    blank = f"  {c.name:<10} {'-':>10} {'-':>10}" + (f" {'-':>10}" if timed else "")
                    lines.append(f"{blank}  unsupported: {c.reason}")
                    continue
                est = _fmt_time(c.seconds) if c.seconds is not None else "-"
                row = f"  {c.name:<10} {est:>10} {_fmt_bytes(c.workspace):>10}"
                if timed:
                    row += f" {_fmt_time(c.measured) if c.measured is not None else '-':>10}"
                notes = []
                if c.name == p.chosen:
                    notes.append("<- chosen")
                if c.detail:
                    notes.append(c.detail)
                if c.over_limit:
                    notes.append("workspace over the limit")
                if p.highest and not c.exact:
                    notes.append("not lax's products: excluded by precision=HIGHEST")
                lines.append(row + ("  " + "; ".join(notes) if notes else ""))
        return "\n".join(lines)

    __repr__ = __str__


def _fmt_time(t: float) -> str:
    for unit, size in (("s", 1), ("ms", 1e-3), ("us", 1e-6)):
        if t >= size:
            return f"{t / size:.3g} {unit}"
    return f"{t * 1e9:.3g} ns"


def _fmt_bytes(b: int) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if b >= size:
            return f"{b / size:.3g} {unit}"
    return f"{b} B"


def explain_spec(description: str, spec: ConvSpec, algorithm: str, differentiable: bool,
                 platform: str | None = None, precision=None) -> Plan:
    platform = platform or default_platform()
    passes = [plan(spec, "forward", algorithm, platform, precision)]
    if differentiable:
        passes.append(plan(spec.input_grad(), "input_grad", algorithm, platform, precision))
        passes.append(plan(spec.kernel_grad(), "kernel_grad", algorithm, platform, precision))
    cal = _planner(platform).calibration
    return Plan(description, tuple(passes), platform, None if cal is None else cal.name)


def is_differentiable(dtype) -> bool:
    return np.dtype(dtype).kind in "fc"
