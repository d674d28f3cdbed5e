r"""The convolution theorem: the DFT diagonalises every circulant.

With ``F[j, k] = w^(j k)``, ``w = exp(-2 pi i / n)`` and ``P`` the cyclic shift:

1. orthogonality: ``sum_m w^(m q) = n [q = 0]`` for ``|q| < n``, so ``F^-1 = conj(F) / n``;
2. ``F P F^-1 = diag(w^j)``;
3. every circulant is ``C(c) = sum_k c_k P^k``, hence ``F C(c) F^-1 = diag(F c)``;
4. ``a ⊛ b = C(b) a``, hence ``F (a ⊛ b) = (F a) ⊙ (F b)`` and
   ``a ⊛ b = F^-1 (F a ⊙ F b)``; linear convolution is circular convolution after
   zero-padding both operands to ``n + m - 1``.

Exact arithmetic throughout: the cyclotomic field QQ(w) (DomainMatrix) or polynomials
modulo ``x^n - 1``; ``simplify`` is not used (it fails to reduce ``F C F^-1`` for
n = 3, 5, 6).
"""

from __future__ import annotations

import sympy
from sympy import I, exp, pi

from ._arrays import as_object_array, symbols, to_sympy_array
from ._exact import Cyclotomic, first_difference, group_ring_dft, group_ring_product
from ._matrix import circulant, conv_matrix, shift_matrix
from ._reference import convolve
from ._result import ALL_SIZES, CheckResult, Timer, verified_for


def prove_convolution_theorem() -> CheckResult:
    r"""The DFT diagonalises the cyclic shift, hence every circulant, for every ``n``.

    $$\sum_{m=0}^{n-1} \omega^{m q} = n\,[\,\omega^{q} = 1\,],\qquad
      (F P F^{-1})_{jk} = \tfrac1n \sum_m \omega^{j(m+1)} \omega^{-m k}
      = \omega^{j} [j = k]$$

    SymPy sums the geometric series with symbolic ``n`` (a Piecewise: ``n`` when
    ``w^q = 1``, else 0), and shows the summand of ``(F P F^-1)_jk`` is ``w^j / n`` times
    the orthogonality summand with ``q = j - k``. For ``0 <= j, k < n``, ``w^(j-k) = 1``
    only when ``j = k``; the wrap-around term of ``P`` uses ``w^(j n) = 1`` (checked).
    Then ``C(c) = sum_k c_k P^k`` gives ``F C F^-1 = diag(F c)``, and the convolution
    theorem ``F(a ⊛ b) = F a ⊙ F b`` follows from ``a ⊛ b = C(b) a``.

    Equivalent to ``numpy.fft.fft(circular_convolve(a, b)) == fft(a) * fft(b)`` for
    every length.

    Returns:
        A `CheckResult` with scope ``"all sizes (symbolic)"``.

    Example:
        >>> prove_convolution_theorem().holds
        True
    """
    with Timer() as timer:
        n = sympy.Symbol("n", integer=True, positive=True)
        m = sympy.Symbol("m", integer=True, nonnegative=True)
        j, k = sympy.symbols("j k", integer=True, nonnegative=True)
        q = sympy.Symbol("q", integer=True)
        omega = lambda e: exp(-2 * pi * I * e / n)  # noqa: E731
        ortho = sympy.summation(omega(m * q), (m, 0, n - 1))
        ok_ortho = (
            isinstance(ortho, sympy.Piecewise)
            and ortho.args[0].expr == n
            and ortho.args[0].cond == sympy.Eq(omega(q), 1)
            and ortho.args[1].expr == 0
        )
        summand = omega(j * (m + 1)) * omega(-m * k) / n
        ratio = sympy.simplify(summand / (omega(j) / n * omega(m * (j - k))))
        ok_shift = ratio == 1
        ok_wrap = omega(j * n) == 1
        holds = bool(ok_ortho and ok_shift and ok_wrap)
    return CheckResult(
        "convolution theorem (all sizes)",
        "the DFT diagonalises the cyclic shift P, so F C(c) F^-1 = diag(F c) for every "
        "circulant and F(a ⊛ b) = F a ⊙ F b",
        holds, ALL_SIZES,
        f"sum_m w^(m q) = {ortho}; the summand of (F P F^-1)_jk is w^j/n times the "
        f"orthogonality summand with q = j - k (ratio {ratio}); w^(j n) = {omega(j * n)}",
        timer.elapsed,
        r"F P F^{-1} = \operatorname{diag}(\omega^j),\quad F\,C(c)\,F^{-1} = "
        r"\operatorname{diag}(F c),\quad F(a \circledast b) = (F a)\odot(F b)",
    )


def check_circulant_diagonalization(n: int, kernel_size: int = 3) -> CheckResult:
    r"""``F P F^-1 = diag(w^j)`` and ``F F^-1 = I`` exactly in QQ(w), and circulants are
    polynomials in ``P``.

    $$F P F^{-1} = \operatorname{diag}(\omega^j), \qquad C(c) = \sum_k c_k P^k,
      \qquad F C(c) F^{-1} = \operatorname{diag}(F c)$$

    The DFT matrix is built over the cyclotomic field QQ(exp(-2 pi i / n)) as a
    DomainMatrix, so the products are exact. ``C(c) = sum c_k P^k`` is checked with
    symbolic ``c``; and the matrix of a single-channel conv layer with circular padding
    (kernel ``kernel_size``, ``"same"`` padding) is shown to be circulant, hence also
    diagonalised by ``F``.

    Equivalent to `prove_convolution_theorem` at one ``n``, without simplify.

    Args:
        n: the size.
        kernel_size: the conv layer's kernel size (at most ``n``).

    Returns:
        A `CheckResult` with scope ``"verified for sizes n = ..."``.

    Example:
        >>> check_circulant_diagonalization(5).holds
        True
    """
    with Timer() as timer:
        K = Cyclotomic(n)
        F, Fi = K.dft(), K.idft()
        P = K.from_int_matrix(shift_matrix(n))
        inverse_ok = (F * Fi - K.eye()).is_zero_matrix
        diag_ok = (F * P * Fi - K.diag_powers(1)).is_zero_matrix
        c = symbols("c", (n,))
        Pm = shift_matrix(n)
        poly = sympy.zeros(n, n)
        power = sympy.eye(n)
        for k in range(n):
            poly += c[k] * power
            power = Pm * power
        poly_ok = first_difference(circulant(c), poly) is None
        w = symbols("w", (1, 1, min(kernel_size, n)))
        M = sympy.Matrix(conv_matrix(w, (1, n), padding="same", padding_mode="circular"))
        layer_ok = M.shape == (n, n) and first_difference(M, circulant(list(M[:, 0]))) is None
        holds = bool(inverse_ok and diag_ok and poly_ok and layer_ok)
    details = (
        f"over {K.field}: F F^-1 = I {'exactly' if inverse_ok else 'FAILS'}; F P F^-1 = "
        f"diag(w^j) {'exactly' if diag_ok else 'FAILS'}; C(c) = sum_k c_k P^k "
        f"{'holds' if poly_ok else 'FAILS'} for symbolic c; the circular-padding conv "
        f"layer matrix is {'circulant' if layer_ok else 'NOT circulant'}"
    )
    return CheckResult(
        "DFT diagonalises circulants", "F P F^-1 = diag(w^j), C(c) = sum c_k P^k, so "
        "F C F^-1 = diag(F c); the circular conv layer is a circulant",
        holds, verified_for(f"n = {n}"), details, timer.elapsed,
        r"F P F^{-1} = \operatorname{diag}(\omega^j),\ C(c) = \sum_k c_k P^k",
    )


def check_convolution_theorem(n: int) -> CheckResult:
    r"""``F(a ⊛ b) = (F a) ⊙ (F b)`` exactly, for symbolic vectors of length ``n``.

    $$\mathrm{DFT}(a \circledast b)_j = \mathrm{DFT}(a)_j\, \mathrm{DFT}(b)_j,
      \qquad a \circledast b = F^{-1}\big((F a) \odot (F b)\big)$$

    The circular convolution comes from the reference sum; both sides are polynomials
    in the root of unity ``x`` with coefficients in ZZ[a, b], compared modulo
    ``x^n - 1`` (so the identity holds at every n-th root of unity, the primitive one
    included). With ``F^-1 F = I`` (`check_circulant_diagonalization`) the inverse
    form follows.

    Equivalent to ``ifft(fft(a) * fft(b)) == circular_convolve(a, b)`` in exact arithmetic.

    Args:
        n: the length.

    Returns:
        A `CheckResult` with scope ``"verified for sizes n = ..."``.

    Example:
        >>> check_convolution_theorem(4).holds
        True
    """
    with Timer() as timer:
        A, B = symbols("a", (n,)), symbols("b", (n,))
        ab = list(as_object_array(convolve(A, B, "circular"), "", ""))
        lhs = group_ring_dft(ab, n)
        fa, fb = group_ring_dft(list(A), n), group_ring_dft(list(B), n)
        rhs = [group_ring_product(fa[j], fb[j], n) for j in range(n)]
        diff = first_difference(sympy.Matrix(lhs), sympy.Matrix(rhs))
    return CheckResult(
        "convolution theorem", "DFT(a ⊛ b) = DFT(a) ⊙ DFT(b) (circular convolution)",
        diff is None, verified_for(f"n = {n}"),
        f"all {n} DFT coefficients equal as polynomials in ZZ[a, b][x]/(x^{n} - 1)"
        if diff is None else f"coefficient entry {diff} differs",
        timer.elapsed, r"F(a \circledast b) = (F a)\odot(F b)",
    )


def check_linear_via_circular(n: int, m: int) -> CheckResult:
    r"""Linear convolution is circular convolution of the operands zero-padded to ``n + m - 1``.

    $$a * b = \big(\mathrm{pad}_{L}(a) \circledast \mathrm{pad}_{L}(b)\big),
      \quad L = n + m - 1$$

    Exact on symbolic vectors; as a control, padding to ``L - 1`` must fail (the last
    output wraps onto the first), which the check also verifies.

    Equivalent to the zero-padding rule of FFT convolution (``scipy.signal.fftconvolve``).

    Args:
        n, m: the lengths of ``a`` and ``b`` (``n + m >= 3`` for the control).

    Returns:
        A `CheckResult` with scope ``"verified for sizes ..."``.

    Example:
        >>> check_linear_via_circular(4, 3).holds
        True
    """
    with Timer() as timer:
        A, B = symbols("a", (n,)), symbols("b", (m,))
        full = convolve(A, B, "full")

        def circular(length):
            a = list(A) + [0] * (length - n)
            b = list(B) + [0] * (length - m)
            return convolve(sympy.Array(a), sympy.Array(b), "circular")

        L = n + m - 1
        ok = first_difference(full, circular(L)) is None
        control = None
        if L - 1 >= max(n, m):
            short = as_object_array(circular(L - 1), "", "")
            control = first_difference(to_sympy_array(as_object_array(full, "", "")[: L - 1]),
                                       to_sympy_array(short))
        holds = ok and control is not None
    return CheckResult(
        "linear via circular", "a * b = circular convolution of a, b zero-padded to n + m - 1",
        holds, verified_for(f"n = {n}, m = {m}"),
        ("equal entry by entry at L = n + m - 1" if ok else "differs at L = n + m - 1")
        + ("; at L - 1 the wrap-around makes entry "
           f"{control} differ, as it must" if control is not None
           else "; control at L - 1 unexpectedly agrees or is not applicable"),
        timer.elapsed, r"a * b = \mathrm{pad}_{n+m-1}(a) \circledast \mathrm{pad}_{n+m-1}(b)",
    )


