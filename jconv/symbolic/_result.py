"""`CheckResult`: what every check returns (it never prints)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable
from typing import ClassVar

ALL_SIZES = "all sizes (symbolic)"
"""The scope of a statement proved with symbolic sizes."""


def verified_for(description: str) -> str:
    """The scope of a statement checked exactly at the listed sizes.

    ``"verified for sizes " + description``, as opposed to `ALL_SIZES`.

    Equivalent to the scope string every ``check_*`` function reports.

    Args:
        description: the sizes, e.g. ``"n = 8"`` or ``"x (1, 2, 5), w (2, 2, 3)"``.

    Returns:
        The scope string.

    Example:
        >>> verified_for("n = 8")
        'verified for sizes n = 8'
    """
    return f"verified for sizes {description}"


@dataclasses.dataclass(frozen=True)
class CheckResult:
    r"""The outcome of one check: the statement, whether it holds, how, and for which sizes.

    A check is a function that returns a `CheckResult` instead of printing. ``holds`` is
    True (the statement was proved or verified), False (it fails; ``details`` says where)
    or None (the check was skipped, e.g. an algorithm refuses the configuration;
    ``details`` says why). ``scope`` is ``"all sizes (symbolic)"`` for a proof with
    symbolic sizes, or ``"verified for sizes ..."`` for an exact check at listed sizes.

    Equivalent to a test assertion that carries its own explanation: ``bool(result)`` is
    ``result.holds is True``.

    Attributes:
        name: a short identifier, e.g. ``"commutativity"``.
        statement: the statement in words and plain-text formulas.
        holds: True, False, or None when skipped.
        scope: ``ALL_SIZES`` or ``verified_for(...)``.
        details: how it was checked, and the evidence (or the first counterexamples).
        elapsed: seconds the check took.
        latex: the statement as LaTeX math (for reports), may be empty.

    Example:
        >>> r = CheckResult("demo", "1 + 1 = 2", True, ALL_SIZES, "by arithmetic", 0.0)
        >>> bool(r), r.status
        (True, 'holds')
    """

    ALL_SIZES: ClassVar[str] = ALL_SIZES
    """The scope of a statement proved with symbolic sizes."""
    verified_for: ClassVar = staticmethod(verified_for)

    name: str
    statement: str
    holds: bool | None
    scope: str
    details: str
    elapsed: float
    latex: str = ""

    @staticmethod
    def combine(name: str, statement: str, parts: Iterable[CheckResult], *, latex: str = ""
                ) -> CheckResult:
        """One result from several (see `combine`)."""
        return combine(name, statement, parts, latex=latex)

    def __bool__(self) -> bool:
        return self.holds is True

    @property
    def status(self) -> str:
        """``"holds"``, ``"FAILS"`` or ``"skipped"``."""
        return {True: "holds", False: "FAILS", None: "skipped"}[self.holds]

    def __str__(self) -> str:
        return (
            f"[{self.status}] {self.name}: {self.statement} ({self.scope}; "
            f"{self.elapsed:.2f} s)\n    {self.details}"
        )

    def to_dict(self) -> dict:
        """The fields as a JSON-serialisable dict."""
        return dataclasses.asdict(self)

    def to_markdown(self) -> str:
        """A Markdown paragraph: the statement (with its LaTeX form), status, scope, details."""
        math = f"\n\n$$ {self.latex} $$" if self.latex else ""
        return (
            f"**{self.name}** — {self.statement}{math}\n\n"
            f"*{self.status}*, {self.scope}, {self.elapsed:.2f} s. {self.details}\n"
        )


class Timer:
    """A context manager measuring wall time: ``with Timer() as t: ...; t.elapsed``."""

    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        self.elapsed = 0.0
        return self

    def __exit__(self, *exc) -> None:
        self.elapsed = time.perf_counter() - self.start

    @property
    def now(self) -> float:
        """Seconds since entering."""
        return time.perf_counter() - self.start


def combine(
    name: str,
    statement: str,
    parts: Iterable[CheckResult],
    *,
    latex: str = "",
) -> CheckResult:
    """One result from several: holds when every non-skipped part holds.

    $$\text{holds} = \bigwedge_{\text{parts run}} \text{holds}_i$$

    The scope is ``ALL_SIZES`` only when every part has it; otherwise the verified
    scopes are listed. Skipped parts are reported, and a combination in which every
    part was skipped is itself skipped.

    Equivalent to ``all(parts)`` with the evidence kept.

    Args:
        name, statement: what the combined result claims.
        parts: the `CheckResult` objects.
        latex: the statement in LaTeX.

    Returns:
        A `CheckResult`.

    Example:
        >>> a = CheckResult("a", "A", True, ALL_SIZES, "ok", 0.5)
        >>> b = CheckResult("b", "B", True, verified_for("n = 3"), "ok", 0.25)
        >>> combine("ab", "A and B", [a, b]).scope
        'verified for sizes n = 3'
    """
    parts = list(parts)
    ran = [p for p in parts if p.holds is not None]
    holds = None if not ran else all(p.holds for p in ran)
    scopes = []
    for p in ran:
        if p.scope not in scopes:
            scopes.append(p.scope)
    if scopes and all(s == ALL_SIZES for s in scopes):
        scope = ALL_SIZES
    else:
        listed = [s.removeprefix("verified for sizes ") for s in scopes if s != ALL_SIZES]
        scope = verified_for("; ".join(listed)) if listed else "skipped"
    details = "; ".join(f"{p.name}: {p.status} ({p.details})" for p in parts)
    return CheckResult(name, statement, holds, scope, details,
                       sum(p.elapsed for p in parts), latex)
