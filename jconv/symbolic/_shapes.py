r"""Output sizes: the window-count formula, its transposed inverse, SAME padding, and the
signal modes; proved with symbolic sizes and checked exhaustively on a grid.

With ``E = n + lo + hi`` the padded length and ``a = E - d (k - 1) - 1``, division with
remainder ``a = s q + r`` (``0 <= r < s``) gives ``floor(a / s) = (a - r) / s``; every
statement below is reduced to that identity.
"""

from __future__ import annotations

import itertools

import sympy

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
