r"""Output sizes: the window-count formula, its transposed inverse, SAME padding, and the
signal modes; proved with symbolic sizes and checked exhaustively on a grid.

With ``E = n + lo + hi`` the padded length and ``a = E - d (k - 1) - 1``, division with
remainder ``a = s q + r`` (``0 <= r < s``) gives ``floor(a / s) = (a - r) / s``; every
statement below is reduced to that identity.
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import sympy

from ._algebra import numeric_law
from ._numeric import conv_output_shape
from ._reference import conv_out_size, signal_pairs
from ._result import ALL_SIZES, CheckResult, Timer, verified_for


def _size_symbols():
    n, k, s, d = sympy.symbols("n k s d", integer=True, positive=True)
    lo, hi = sympy.symbols("lo hi", integer=True)
    r = sympy.Symbol("r", integer=True, nonnegative=True)
    return n, k, s, d, lo, hi, r


def prove_output_size() -> CheckResult:
    r"""A conv layer has ``floor((n + lo + hi - d(k-1) - 1) / s) + 1`` outputs, for all sizes.

    $$O = \Big\lfloor \frac{n + lo + hi - d(k-1) - 1}{s} \Big\rfloor + 1:\qquad
      (O-1)s + d(k-1) \le E - 1 < O s + d(k-1)$$

    Window ``p`` covers padded positions ``p s .. p s + d (k - 1)``; the windows that fit
    in the padded length ``E = n + lo + hi`` are ``p = 0 .. O - 1``. With symbolic
    ``n, k, s, d, lo, hi`` and ``floor(a / s) = (a - r) / s``: the end of the last window
    minus ``E - 1`` simplifies to ``-r <= 0`` (it fits) and the end of the next one to
    ``s - r > 0`` (it does not).

    Equivalent to the output-size rule of ``torch.nn.Conv2d`` and
    ``jax.lax.conv_general_dilated``.

    Returns:
        A `CheckResult` with scope ``"all sizes (symbolic)"``.

    Example:
        >>> prove_output_size().holds
        True
    """
    with Timer() as timer:
        n, k, s, d, lo, hi, r = _size_symbols()
        a = n + lo + hi - d * (k - 1) - 1
        fl = sympy.floor(a / s)
        O = fl + 1
        E = n + lo + hi
        last = sympy.simplify(((O - 1) * s + d * (k - 1) - (E - 1)).subs(fl, (a - r) / s))
        nxt = sympy.simplify((O * s + d * (k - 1) - (E - 1)).subs(fl, (a - r) / s))
        holds = sympy.expand(last + r) == 0 and sympy.expand(nxt - (s - r)) == 0
    return CheckResult(
        "output size (all sizes)",
        "conv output size = floor((n + lo + hi - d(k-1) - 1)/s) + 1: the last window fits, "
        "the next does not",
        holds, ALL_SIZES,
        f"with floor(a/s) = (a - r)/s, 0 <= r < s: last window end - (E - 1) = {last} <= 0; "
        f"next window end - (E - 1) = {nxt} > 0",
        timer.elapsed,
        r"O = \left\lfloor \frac{n + lo + hi - d(k-1) - 1}{s} \right\rfloor + 1",
    )


def prove_transpose_size() -> CheckResult:
    r"""The transposed convolution inverts the shape map, with ``output_padding = r``.

    $$n_T = (O - 1)s - lo - hi + d(k-1) + \mathrm{op} + 1 = n
      \quad\text{for } \mathrm{op} = (n + lo + hi - d(k-1) - 1) \bmod s$$

    With symbolic sizes and ``floor(a / s) = (a - r) / s`` the expression simplifies to
    ``n``; so `conv_transpose` with that ``output_padding`` (always ``< s``) maps the
    conv's output shape back to its input shape, as the adjoint must.

    Equivalent to PyTorch's ``output_padding`` rule for ``ConvTranspose``.

    Returns:
        A `CheckResult` with scope ``"all sizes (symbolic)"``.

    Example:
        >>> prove_transpose_size().holds
        True
    """
    with Timer() as timer:
        n, k, s, d, lo, hi, r = _size_symbols()
        a = n + lo + hi - d * (k - 1) - 1
        fl = sympy.floor(a / s)
        O = fl + 1
        n_t = sympy.simplify(((O - 1) * s - lo - hi + d * (k - 1) + r + 1).subs(fl, (a - r) / s))
        holds = sympy.expand(n_t - n) == 0
    return CheckResult(
        "transposed size (all sizes)",
        "conv_transpose with output_padding = (n + lo + hi - d(k-1) - 1) mod s has output "
        "size n: it inverts the conv's shape map",
        holds, ALL_SIZES, f"(O - 1)s - lo - hi + d(k-1) + r + 1 simplifies to {n_t}",
        timer.elapsed,
        r"(O-1)s - lo - hi + d(k-1) + \big((n+lo+hi-d(k-1)-1) \bmod s\big) + 1 = n",
    )


def prove_same_padding() -> CheckResult:
    r"""SAME padding gives ``ceil(n / s)`` outputs (symbolic where the padding is positive).

    $$P = \max\big((\lceil n/s \rceil - 1)s + d(k-1) + 1 - n,\ 0\big)
      \;\Rightarrow\; O = \lceil n/s \rceil$$

    With ``c = ceil(n / s)`` symbolic and ``P > 0``, the output-size formula simplifies to
    ``c`` for all sizes; the case ``P = 0`` (a kernel no wider than the stride gap) is
    an inequality covered exhaustively by `check_output_sizes`.

    Equivalent to XLA's ``SAME`` padding rule.

    Returns:
        A `CheckResult` with scope ``"all sizes (symbolic)"`` (for positive padding).

    Example:
        >>> prove_same_padding().holds
        True
    """
    with Timer() as timer:
        n, k, s, d, *_ = _size_symbols()
        c = sympy.Symbol("c", integer=True, positive=True)
        P = (c - 1) * s + d * (k - 1) + 1 - n
        O = sympy.simplify(sympy.floor((n + P - d * (k - 1) - 1) / s) + 1)
        holds = O == c
    return CheckResult(
        "SAME padding size (all sizes, P > 0)",
        "with SAME padding P = (ceil(n/s) - 1)s + d(k-1) + 1 - n > 0 the output size is "
        "ceil(n/s)",
        holds, ALL_SIZES, f"floor((n + P - d(k-1) - 1)/s) + 1 simplifies to {O} = c = ceil(n/s)",
        timer.elapsed, r"O_{\mathrm{SAME}} = \lceil n / s \rceil",
    )


def check_output_sizes(max_n: int = 10, max_k: int = 4, max_s: int = 3, max_d: int = 3,
                       max_pad: int = 2) -> CheckResult:
    r"""Every output-size rule, exhaustively on a grid, against counting windows.

    $$O = \#\{p \ge 0 : p s + d(k-1) \le E - 1\},\quad
      n_T = \max_{i,t}(i s + t d) + 1 + \mathrm{op} - lo - hi$$

    For every ``n <= max_n, k <= max_k, s <= max_s, d <= max_d, 0 <= lo, hi <= max_pad``:
    the formula, the brute-force window count and the reference's
    `conv_output_shape` agree; SAME gives ``ceil(n / s)``; the scatter extent of
    `conv_transpose` matches its formula; `conv_transpose` with the remainder as
    ``output_padding`` returns ``n`` and the conv of that returns ``O``; and the signal
    modes have lengths ``n + m - 1`` (full), ``n`` (same, circular), ``|n - m| + 1``
    (valid) in the reference sums.

    Equivalent to `prove_output_size` and `prove_transpose_size`, by enumeration.

    Args:
        max_n, max_k, max_s, max_d, max_pad: the grid.

    Returns:
        A `CheckResult` with scope ``"verified for sizes ..."``.

    Example:
        >>> check_output_sizes(5, 3, 2, 2, 1).holds
        True
    """
    with Timer() as timer:
        failures, count = [], 0
        for n, k, s, d, lo, hi in itertools.product(
            range(1, max_n + 1), range(1, max_k + 1), range(1, max_s + 1), range(1, max_d + 1),
            range(max_pad + 1), range(max_pad + 1),
        ):
            E = n + lo + hi
            if d * (k - 1) + 1 > E:
                continue
            count += 1
            windows = sum(1 for p in range(E) if p * s + d * (k - 1) <= E - 1)
            formula = conv_out_size(n, k, s, d, lo, hi)
            ref = conv_output_shape((1, 1, n), (1, 1, k), stride=s, dilation=d,
                                    padding=((lo, hi),))[2]
            r = (E - d * (k - 1) - 1) % s
            extent = (windows - 1) * s + d * (k - 1) + 1 + r - lo - hi
            back = conv_out_size(extent, k, s, d, lo, hi) if extent >= 1 else None
            if not (windows == formula == ref and extent == n and back == windows):
                failures.append((n, k, s, d, lo, hi))
            same = conv_output_shape((1, 1, n), (1, 1, k), stride=s, dilation=d,
                                     padding="same")[2]
            if same != -(-n // s):
                failures.append(("same", n, k, s, d))
        for n, m in itertools.product(range(1, max_n + 1), range(1, max_k + 2)):
            expected = {"full": n + m - 1, "same": n, "valid": abs(n - m) + 1, "circular": n}
            for mode, length in expected.items():
                if len(signal_pairs(n, m, mode, False)) != length or len(
                        signal_pairs(n, m, mode, True)) != length:
                    failures.append((mode, n, m))
        holds = not failures
    return CheckResult(
        "output sizes (grid)", "conv, SAME, conv_transpose and signal-mode output sizes "
        "match counting windows; conv_transpose with op = r inverts conv",
        holds,
        verified_for(f"n <= {max_n}, k <= {max_k}, s <= {max_s}, d <= {max_d}, "
                     f"padding <= {max_pad} (exhaustive)"),
        f"{count} conv configurations and {max_n * (max_k + 1) * 4} signal cases agree"
        if holds else f"mismatches: {failures[:5]}",
        timer.elapsed, r"O = \#\{p : p s + d(k-1) \le E - 1\}",
    )


SHAPE_CASES = (
    ("conv", (1, 1, 9), (1, 1, 3), dict(stride=2, padding=1, dilation=2)),
    ("conv", (1, 2, 7, 6), (2, 2, 3, 2), dict(stride=(2, 3), padding="same")),
    ("conv", (1, 1, 8), (1, 1, 3), dict(padding="full")),
    ("conv_transpose", (1, 2, 4), (2, 1, 3), dict(stride=3, padding=1, output_padding=2)),
    ("convolve", (7,), (3,), dict(mode="valid")),
    ("convolve", (4, 7), (2, 3), dict(mode="same")),
)
"""Configurations `check_shapes_numeric` runs: (function, x shape, w shape, arguments)."""


def _expected_shape(kind, x_shape, w_shape, kw):
    if kind == "conv":
        return conv_output_shape(x_shape, w_shape, **kw)
    if kind == "conv_transpose":
        nd = len(x_shape) - 2
        per = lambda v: (v,) * nd if isinstance(v, int) else tuple(v)  # noqa: E731
        s, op = per(kw.get("stride", 1)), per(kw.get("output_padding", 0))
        d, p = per(kw.get("dilation", 1)), per(kw.get("padding", 0))
        sizes = tuple((n - 1) * st - 2 * pp + dd * (k - 1) + o + 1 for n, k, st, dd, pp, o in
                      zip(x_shape[2:], w_shape[2:], s, d, p, op))
        return (x_shape[0], w_shape[1] * kw.get("groups", 1), *sizes)
    rule = {"full": lambda n, m: n + m - 1, "same": lambda n, m: n,
            "valid": lambda n, m: abs(n - m) + 1, "circular": lambda n, m: n}[kw["mode"]]
    return tuple(rule(n, m) for n, m in zip(x_shape, w_shape))


def check_shapes_numeric(*, numeric=None, algorithm: str = "auto", cases=SHAPE_CASES
                         ) -> CheckResult:
    r"""The numeric functions return the shapes the formulas give (stride, dilation,
    SAME/full padding, transposed, signal modes).

    $$\operatorname{shape}(f(x, w)) = O(n, k, s, d, lo, hi)$$

    Each case in ``cases`` is traced and lowered with ``jax.jit(...).lower`` (through the
    forced algorithm's code; the lowering type-checks every intermediate, so an
    algorithm that returns a wrong shape fails to lower) and its output shape compared
    with the formula; a function that cannot be traced is run on zeros instead.

    Equivalent to `check_output_sizes` for the numeric code.

    Args:
        numeric: ``numeric(kind, x, w, **kw)`` with ``kind`` in ``"conv"``,
            ``"conv_transpose"``, ``"convolve"``; default: the `jconv` function named by
            ``kind``, with ``algorithm`` forced.
        algorithm: the algorithm forced on the default function.
        cases: ``(kind, x_shape, w_shape, kwargs)`` tuples.

    Returns:
        A `CheckResult`.

    Example:
        >>> check_shapes_numeric().holds
        True
    """
    label = algorithm if numeric is None else getattr(numeric, "__name__", "custom")
    if numeric is None:
        import jconv

        def numeric(kind, x, w, **kw):
            fn = getattr(jconv, kind)
            key = "method" if kind == "convolve" else "algorithm"
            return fn(x, w, **{**kw, key: algorithm})

    skipped = []

    def compute():
        import jax
        import jax.numpy as jnp

        from ._probe import is_refusal

        got, want = [], []
        not_traceable = (jax.errors.TracerArrayConversionError,
                         jax.errors.ConcretizationTypeError,
                         jax.errors.TracerIntegerConversionError)
        for kind, xs, ws, kw in cases:
            x, w = jnp.zeros(xs), jnp.zeros(ws)
            try:
                try:  # trace and lower through the algorithm (type-checked), no compile
                    lowered = jax.jit(lambda x, w, kind=kind, kw=kw: numeric(kind, x, w, **kw)
                                      ).lower(x, w)
                    shape = tuple(jax.tree.leaves(lowered.out_info)[0].shape)
                except not_traceable:
                    shape = tuple(numeric(kind, x, w, **kw).shape)
            except ValueError as e:
                if is_refusal(e):
                    skipped.append(kind)
                    continue
                raise
            got.append(shape)
            want.append(_expected_shape(kind, xs, ws, kw))
        if not got:
            raise ValueError(f"every case was refused (cannot compute): {skipped}")
        return np.array([v for s in got for v in (len(s), *s)]), np.array(
            [v for s in want for v in (len(s), *s)])

    result = numeric_law(
        f"output shapes [{label}]", "numeric output shapes equal the size formulas",
        verified_for(f"{len(cases)} configurations"), r"\operatorname{shape} f(x,w) = O", compute,
        data="the listed configurations",
    )
    if result.holds:
        details = f"all {len(cases) - len(skipped)} output shapes equal the formulas" + (
            f" ({len(skipped)} refused: {', '.join(skipped)})" if skipped else "")
        result = dataclasses.replace(result, details=details)
    return result


__all__ = [
    "SHAPE_CASES", "check_output_sizes", "check_shapes_numeric", "prove_output_size",
    "prove_same_padding", "prove_transpose_size",
]
