r"""The convolution layer as a matrix: the worked example, block structure and groups,
translation equivariance, and the layer as a constrained fully connected layer.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import sympy
from sympy import Function, Sum

from ._arrays import as_object_array, symbols, to_sympy_array
from ._exact import first_difference
from ._matrix import block_explicit, conv_block_matrix, conv_matrix, group_block_matrix, kernel_matrix
from ._reference import conv, conv_setup, conv_taps, window
from ._result import ALL_SIZES, CheckResult, Timer, verified_for


def _jconv():
    import jconv

    return jconv


def _scope(x_shape, w_shape, kwargs) -> str:
    extra = "".join(f", {k}={v!r}" for k, v in kwargs.items())
    return verified_for(f"x {tuple(x_shape)}, w {tuple(w_shape)}{extra}")


def _flat(a) -> list:
    return list(as_object_array(a, "", "").reshape(-1))


# ---------------------------------------------------------------------------------------
# The matrix form
# ---------------------------------------------------------------------------------------

WORKED_EXAMPLE = """\
a b 0 c d 0 0 0 0
0 a b 0 c d 0 0 0
0 0 0 a b 0 c d 0
0 0 0 0 a b 0 c d
e f 0 g h 0 0 0 0
0 e f 0 g h 0 0 0
0 0 0 e f 0 g h 0
0 0 0 0 e f 0 g h"""
"""The 8 x 9 matrix of the 1 x 3 x 3 input and the 2 x 1 x 2 x 2 kernel, as written out."""


def check_worked_example() -> CheckResult:
    r"""The worked example: a ``1 x 3 x 3`` input and a ``2 x 1 x 2 x 2`` kernel.

    $$M = \begin{pmatrix} a & b & 0 & c & d & 0 & 0 & 0 & 0 \\ 0 & a & b & 0 & c & d & 0 &
      0 & 0 \\ & & & & \vdots \end{pmatrix} \in \mathbb{R}^{8 \times 9}, \qquad
      M\,(1, \dots, 9)^{\mathsf T} = (a + 2b + 4c + 5d, \dots)$$

    `conv_matrix` must reproduce the written-out matrix (`WORKED_EXAMPLE`) entry by
    entry, and ``M x'`` for ``x' = 1..9`` the written-out outputs
    ``1a+2b+4c+5d, 2a+3b+5c+6d, 4a+5b+7c+8d, 5a+6b+8c+9d`` and likewise with ``e..h``.

    Equivalent to ``conv_matrix([[[[a, b], [c, d]]], [[[e, f], [g, h]]]], (1, 3, 3))``.

    Returns:
        A `CheckResult` (verified for that one size).

    Example:
        >>> check_worked_example().holds
        True
    """
    with Timer() as timer:
        a, b, c, d, e, f, g, h = sympy.symbols("a:h")
        kernel = [[[[a, b], [c, d]]], [[[e, f], [g, h]]]]
        M = conv_matrix(kernel, (1, 3, 3))
        names = {str(s): s for s in (a, b, c, d, e, f, g, h)}
        written = sympy.Matrix([[names.get(tok, sympy.Integer(0)) if tok != "0" else 0
                                 for tok in line.split()] for line in WORKED_EXAMPLE.splitlines()])
        ok_matrix = M.shape == (8, 9) and first_difference(M, written) is None
        x = sympy.Matrix(range(1, 10))
        expected = []
        for p, q, r, s in ((a, b, c, d), (e, f, g, h)):
            expected += [1 * p + 2 * q + 4 * r + 5 * s, 2 * p + 3 * q + 5 * r + 6 * s,
                         4 * p + 5 * q + 7 * r + 8 * s, 5 * p + 6 * q + 8 * r + 9 * s]
        y = M * x
        ok_product = first_difference(y, sympy.Matrix(expected)) is None
        direct = conv(to_sympy_array(np.arange(1, 10).reshape(1, 1, 3, 3)), kernel)
        ok_conv = first_difference(sympy.Matrix(_flat(direct)), y) is None
    return CheckResult(
        "worked example", "the 1x3x3 input and 2x1x2x2 kernel give the written-out 8x9 "
        "matrix (first row a b 0 c d 0 0 0 0) and outputs 1a+2b+4c+5d, ...",
        ok_matrix and ok_product and ok_conv, verified_for("x (1, 1, 3, 3), w (2, 1, 2, 2)"),
        f"matrix equal entry by entry: {ok_matrix}; M (1..9) = {list(y)[:2]}...: "
        f"{ok_product}; equals conv of 1..9: {ok_conv}",
        timer.elapsed,
        r"M = \left(\begin{smallmatrix} a&b&0&c&d&0&0&0&0\\ 0&a&b&0&c&d&0&0&0\\ "
        r"0&0&0&a&b&0&c&d&0\\ 0&0&0&0&a&b&0&c&d\\ e&f&0&g&h&0&0&0&0\\ "
        r"0&e&f&0&g&h&0&0&0\\ 0&0&0&e&f&0&g&h&0\\ 0&0&0&0&e&f&0&g&h \end{smallmatrix}\right)",
    )


def check_matrix_forms(x_shape, w_shape, **conv_kwargs) -> CheckResult:
    r"""`conv_matrix` and `kernel_matrix` are the two linear maps of `conv`, built two ways.

    $$\operatorname{vec}(\mathrm{conv}(x, w)) = M(w)\operatorname{vec}(x) =
      A(x)\operatorname{vec}(w)$$

    ``M`` and ``A`` (assembled sparsely from the window index tables) are compared with
    the matrices that ``sympy.linear_eq_to_matrix`` extracts from the reference sums,
    and ``M vec(x)``, ``A vec(w)`` with ``vec(conv(x, w))``; for channels-first layers the
    channel `conv_block_matrix` is also compared with ``M``.

    Equivalent to ``jax.jacfwd`` of `jconv.conv` in each argument, computed exactly.

    Args:
        x_shape: ``(N, C_in, *spatial)`` (one sample is used for ``M``, all for ``A``).
        w_shape: the kernel shape.
        **conv_kwargs: as for `jconv.conv`.

    Returns:
        A `CheckResult` with scope ``"verified for sizes ..."``.

    Example:
        >>> check_matrix_forms((1, 2, 4, 4), (4, 1, 3, 3), groups=2, padding=1).holds
        True
    """
    with Timer() as timer:
        X, W = symbols("x", x_shape), symbols("w", w_shape)
        y = conv(X[0:1] if len(x_shape) else X, W, **conv_kwargs)
        y_all = conv(X, W, **conv_kwargs)
        M = conv_matrix(W, x_shape[1:], **conv_kwargs)
        A = kernel_matrix(X, w_shape, **conv_kwargs)
        xs, ws = _flat(X)[: math.prod(x_shape[1:])], _flat(W)
        M_lin, _ = sympy.linear_eq_to_matrix(_flat(y), xs)
        A_lin, _ = sympy.linear_eq_to_matrix(_flat(y_all), ws)
        checks = {
            "M == linear_eq_to_matrix": first_difference(M, M_lin) is None,
            "A == linear_eq_to_matrix": first_difference(A, A_lin) is None,
            "M vec(x) == vec(conv)": first_difference(M * sympy.Matrix(xs),
                                                      sympy.Matrix(_flat(y))) is None,
            "A vec(w) == vec(conv)": first_difference(A * sympy.Matrix(ws),
                                                      sympy.Matrix(_flat(y_all))) is None,
        }
        if not conv_kwargs.get("channels_last"):
            B = conv_block_matrix(W, x_shape[1:], **conv_kwargs)
            checks["block matrix == M"] = first_difference(block_explicit(B), M) is None
    return CheckResult(
        "matrix forms", "vec(conv(x, w)) = M(w) vec(x) = A(x) vec(w), M and A built "
        "sparsely agree with linear_eq_to_matrix of the defining sums",
        all(checks.values()), _scope(x_shape, w_shape, conv_kwargs),
        f"M {M.shape}, A {A.shape}: " + "; ".join(f"{k}: {v}" for k, v in checks.items()),
        timer.elapsed,
        r"\operatorname{vec}(\mathrm{conv}(x,w)) = M(w)\operatorname{vec}(x) = "
        r"A(x)\operatorname{vec}(w)",
    )


# ---------------------------------------------------------------------------------------
# Groups
# ---------------------------------------------------------------------------------------


def prove_parameter_count() -> CheckResult:
    r"""A grouped layer has ``C_out C_in prod(k) / G`` weights (+ ``C_out`` biases).

    $$\#w = \sum_{g=1}^{G} \frac{C_{out}}{G}\cdot\frac{C_{in}}{G}\prod_i k_i
      = \frac{C_{out}\, C_{in}}{G} \prod_i k_i$$

    versus ``C_in prod(n) x C_out prod(o)`` for the fully connected layer between the
    same input and output. SymPy sums the per-group counts over ``g`` with symbolic sizes
    and simplifies the ratio to the ungrouped layer to ``1/G``.

    Equivalent to ``w.size`` of a PyTorch ``Conv2d(C_in, C_out, k, groups=G)``.

    Returns:
        A `CheckResult` with scope ``"all sizes (symbolic)"``.

    Example:
        >>> prove_parameter_count().holds
        True
    """
    with Timer() as timer:
        c_in, c_out, G, k1, k2 = sympy.symbols("C_in C_out G k_1 k_2", positive=True,
                                               integer=True)
        g = sympy.Symbol("g", integer=True)
        per_group = (c_out / G) * (c_in / G) * k1 * k2
        total = sympy.summation(per_group, (g, 1, G))
        ok_total = sympy.simplify(total - c_out * c_in * k1 * k2 / G) == 0
        ratio = sympy.simplify(total / total.subs(G, 1))
        ok_ratio = sympy.simplify(ratio - 1 / G) == 0
    return CheckResult(
        "parameter count (all sizes)",
        "a grouped conv layer has C_out * C_in/G * prod(k) weights (+ C_out biases): 1/G "
        "of the ungrouped layer",
        bool(ok_total and ok_ratio), ALL_SIZES,
        f"sum over g of {per_group} = {sympy.simplify(total)}; ratio to G = 1: {ratio}",
        timer.elapsed, r"\#w = C_{out}\,\tfrac{C_{in}}{G}\prod_i k_i \;(+\,C_{out})",
    )


def check_groups(x_shape, w_shape, **conv_kwargs) -> CheckResult:
    r"""A grouped convolution is ``G`` independent convolutions: a block-diagonal matrix.

    $$M = \operatorname{diag}\big(M^{(1)}, \dots, M^{(G)}\big), \qquad
      \mathrm{conv}_G(x, w) = \big[\mathrm{conv}(x^{(g)}, w^{(g)})\big]_{g=1}^{G}$$

    Exact on symbol arrays: the grouped `conv_matrix` equals the `group_block_matrix`
    (whose blocks are built by separate ungrouped calls on each group's channels), the
    grouped `conv` equals the channel concatenation of ``G`` ungrouped convs, the
    off-diagonal channel blocks are zero, and ``M`` holds exactly
    ``C_out * C_in/G * prod(k)`` distinct weights.

    Equivalent to ``torch.cat([F.conv2d(x_g, w_g) for ...], 1) == F.conv2d(x, w, groups=G)``.

    Args:
        x_shape, w_shape: operand shapes (channels first).
        **conv_kwargs: as for `jconv.conv` (``groups`` included).

    Returns:
        A `CheckResult` with scope ``"verified for sizes ..."``.

    Example:
        >>> check_groups((1, 4, 5), (6, 2, 3), groups=2, padding=1).holds
        True
    """
    with Timer() as timer:
        G = int(conv_kwargs.get("groups", 1))
        X, W = symbols("x", x_shape), symbols("w", w_shape)
        M = conv_matrix(W, x_shape[1:], **conv_kwargs)
        D = group_block_matrix(W, x_shape[1:], **conv_kwargs)
        ok_diag = first_difference(M, block_explicit(D)) is None
        c_out, c_group = w_shape[:2]
        og = c_out // G
        kw = {k: v for k, v in conv_kwargs.items() if k != "groups"}
        x_arr, w_arr = as_object_array(X, "", ""), as_object_array(W, "", "")
        parts = [as_object_array(conv(to_sympy_array(x_arr[:, g * c_group:(g + 1) * c_group]),
                                      to_sympy_array(w_arr[g * og:(g + 1) * og]), **kw), "", "")
                 for g in range(G)]
        concat = np.concatenate(parts, axis=1)
        ok_concat = first_difference(conv(X, W, **conv_kwargs), to_sympy_array(concat)) is None
        rows_per, cols_per = M.rows // c_out, M.cols // (c_group * G)
        occupied = {(r // rows_per, c // cols_per) for (r, c), v in M.todok().items() if v != 0}
        zero_blocks = sum(
            1 for o in range(c_out) for c in range(c_group * G)
            if c // c_group != o // og and (o, c) not in occupied
        )
        expected_zero = c_out * c_group * G - c_out * c_group
        weights = set().union(*(e.free_symbols for e in M.values()))
        n_params = c_out * c_group * math.prod(w_shape[2:])
        ok_params = len(weights) == n_params
        holds = ok_diag and ok_concat and zero_blocks == expected_zero and ok_params
    return CheckResult(
        "groups = block diagonal",
        "the grouped conv matrix is the block diagonal of G ungrouped conv matrices; "
        "grouped conv = concatenation of G convs; C_out*C_in/G*prod(k) weights",
        holds, _scope(x_shape, w_shape, conv_kwargs),
        f"M == diag(M_1..M_{G}): {ok_diag}; conv_G == concat: {ok_concat}; zero channel "
        f"blocks {zero_blocks} of {c_out * c_group * G} (expected {expected_zero}); "
        f"distinct weights in M: {len(weights)} (expected {n_params})",
        timer.elapsed, r"M = \operatorname{diag}(M^{(1)},\dots,M^{(G)})",
    )


# ---------------------------------------------------------------------------------------
# Translation equivariance
# ---------------------------------------------------------------------------------------


def prove_translation_equivariance() -> CheckResult:
    r"""Convolution commutes with translation: exactly (circular), on ``Z`` (linear).

    $$y[p] = \sum_t w_t\, x[(p s + t d - lo) \bmod n]:\quad
      (S_{\tau s} x \mapsto y)[p] = y[(p - \tau) \bmod n/s]$$

    With symbolic sizes: for the circular layer, shifting the input by ``tau s`` turns
    the summand's index ``(p s + t d - lo - tau s) mod n`` into the index of output
    ``p - tau`` (SymPy reduces the nested ``Mod``); for the zero-extended (linear)
    layer on ``Z`` the same substitution holds without ``mod``. On a finite input with
    zero padding it therefore holds away from the border (`check_translation_equivariance`).

    Equivalent to ``conv(roll(x, s tau)) == roll(conv(x), tau)`` for circular padding.

    Returns:
        A `CheckResult` with scope ``"all sizes (symbolic)"``.

    Example:
        >>> prove_translation_equivariance().holds
        True
    """
    with Timer() as timer:
        w, x = Function("w"), Function("x")
        p, t, s, d, lo, tau, K = sympy.symbols("p t s d lo tau K", integer=True)
        n = sympy.Symbol("n", integer=True, positive=True)

        def y_circ(xf, q):
            return Sum(w(t) * xf(sympy.Mod(q * s + t * d - lo, n)), (t, 0, K - 1))

        def same(a, b):
            return a.limits == b.limits and sympy.expand(a.function - b.function) == 0

        shifted = y_circ(lambda i: x(sympy.Mod(i - tau * s, n)), p)
        target = y_circ(x, p - tau)
        ok_circ = same(shifted, target)

        def y_lin(xf, q):
            return Sum(w(t) * xf(q * s + t * d - lo), (t, 0, K - 1))

        ok_lin = same(y_lin(lambda i: x(i - tau * s), p), y_lin(x, p - tau))
    return CheckResult(
        "translation equivariance (all sizes)",
        "shifting the input by tau*s shifts the output by tau: exactly for circular "
        "padding, and on Z for zero padding",
        bool(ok_circ and ok_lin), ALL_SIZES,
        f"circular: {shifted} == y[p - tau]: {ok_circ}; linear on Z: {ok_lin}",
        timer.elapsed, r"\mathrm{conv}(S_{\tau s} x) = S_{\tau}\,\mathrm{conv}(x)",
    )


def _shift(arr: np.ndarray, shift, circular: bool) -> np.ndarray:
    """Shift the spatial axes of an (N, C, *S) object array (zeros shifted in if linear)."""
    out = arr
    for ax, k in enumerate(shift, start=2):
        if circular:
            out = np.roll(out, k, axis=ax)
        elif k:
            moved = np.full(out.shape, sympy.S.Zero, dtype=object)
            src = [slice(None)] * out.ndim
            dst = [slice(None)] * out.ndim
            if k > 0:
                src[ax], dst[ax] = slice(0, out.shape[ax] - k), slice(k, None)
            else:
                src[ax], dst[ax] = slice(-k, None), slice(0, out.shape[ax] + k)
            moved[tuple(dst)] = out[tuple(src)]
            out = moved
    return out


def check_translation_equivariance(x_shape, w_shape, shift, **conv_kwargs) -> CheckResult:
    r"""Shift equivariance, exactly: everywhere (circular) or away from the border (zeros).

    $$\mathrm{conv}(S_{\tau s}\, x)[p] = \mathrm{conv}(x)[p - \tau]$$

    ``shift`` is the input shift per spatial dim (a multiple of the stride). With
    ``padding_mode="circular"`` and an output as long as ``input / stride``, both sides
    are compared with cyclic shifts, everywhere. Otherwise (zero padding) the shifted
    input loses samples at the end and gains zeros at the start: the identity must
    hold exactly at every output whose window, and whose partner's window, stays inside
    the input, and the check reports how many border outputs differ.

    Equivalent to `prove_translation_equivariance` at one size.

    Args:
        x_shape, w_shape: operand shapes (channels first).
        shift: one non-negative input shift per spatial dim, a multiple of the stride.
        **conv_kwargs: as for `jconv.conv`.

    Returns:
        A `CheckResult` with scope ``"verified for sizes ..."``.

    Raises:
        ValueError: a shift that is not a multiple of the stride.

    Example:
        >>> check_translation_equivariance((1, 1, 8), (1, 1, 3), (2,), padding="same",
        ...                                padding_mode="circular").holds
        True
    """
    fn = "jconv.symbolic.check_translation_equivariance"
    with Timer() as timer:
        setup = conv_setup(fn, tuple(x_shape), tuple(w_shape), None, conv_kwargs)
        stride = setup["stride"]
        shift = tuple(shift)
        if any(k % s for k, s in zip(shift, stride)):
            raise ValueError(f"{fn}: shift {shift} must be a multiple of the stride {stride}")
        out_shift = tuple(k // s for k, s in zip(shift, stride))
        circular = setup["mode"] == "circular"
        X, W = symbols("x", x_shape), symbols("w", w_shape)
        x_arr = as_object_array(X, "", "")
        y = as_object_array(conv(X, W, **conv_kwargs), "", "")
        y_shifted = as_object_array(conv(to_sympy_array(_shift(x_arr, shift, circular)), W,
                                         **conv_kwargs), "", "")
        if circular:
            if any(o * s != n for o, s, n in zip(y.shape[2:], stride, setup["sizes"])):
                raise ValueError(f"{fn}: circular equivariance needs output = input / stride, "
                                 f"got output {y.shape[2:]} for input {setup['sizes']}")
            diff = first_difference(to_sympy_array(y_shifted),
                                    to_sympy_array(_shift(y, out_shift, True)))
            holds = diff is None
            details = ("conv(roll(x)) == roll(conv(x)) at all outputs" if holds
                       else f"differs at flat entry {diff}")
        else:
            out = y.shape[2:]
            reach = [(k - 1) * d - lo for k, d, (lo, _) in
                     zip(setup["kernel"], setup["dilation"], setup["pads"])]
            interior, agree_border, border, failures = 0, 0, 0, []
            for p in itertools.product(*(range(o) for o in out)):
                q = tuple(pi - k for pi, k in zip(p, out_shift))
                valid = all(0 <= qi < o for qi, o in zip(q, out))
                # the last tap of p's window must not read an input sample that the
                # shift pushed out of the input (positions n .. n + tau - 1)
                inside = valid and all(pi * st + r < n for pi, st, r, n in
                                       zip(p, stride, reach, setup["sizes"]))
                lhs = to_sympy_array(y_shifted[(slice(None), slice(None), *p)])
                same = valid and first_difference(
                    lhs, to_sympy_array(y[(slice(None), slice(None), *q)])) is None
                if inside:
                    interior += 1
                    if not same:
                        failures.append(p)
                else:
                    border += 1
                    agree_border += same
            holds = not failures and interior > 0
            details = (
                f"equal at all {interior} interior output positions" if not failures
                else f"differs at interior positions {failures[:3]}"
            ) + (f"; {border - agree_border} of {border} border positions differ (zero "
                 f"padding breaks equivariance there)")
    return CheckResult(
        "translation equivariance" + (" (circular)" if circular else " (zero padding)"),
        "conv(shift(x, tau*s)) = shift(conv(x), tau)"
        + ("" if circular else " away from the border"),
        holds, _scope(x_shape, w_shape, {**conv_kwargs, "shift": shift}), details,
        timer.elapsed, r"\mathrm{conv}(S_{\tau s} x) = S_\tau\, \mathrm{conv}(x)",
    )


# ---------------------------------------------------------------------------------------
# The conv layer as a constrained fully connected layer
# ---------------------------------------------------------------------------------------


def check_fc_constraints(x_shape, w_shape, **conv_kwargs) -> CheckResult:
    r"""A conv layer is a fully connected layer whose weights are shared and local.

    $$H[(o, p), (c, i)] \;\xrightarrow{\text{locality, sharing}}\;
      \begin{cases} V[o, c, t] & i = p s + t d - lo \\ 0 & \text{otherwise}\end{cases}
      \;=\; M(V)$$

    Start from a generic fully connected layer ``H`` (one free weight per
    input-output pair, ``C_in prod(n) x C_out prod(o)`` of them). Locality keeps only
    the pairs inside the receptive field of output ``p``; weight sharing
    (translation invariance) makes the weight depend on the offset ``t`` only. The
    constrained matrix equals `conv_matrix` of the kernel ``V`` exactly; every row has at
    most ``C_in/G prod(k)`` nonzeros, all inside the window; every weight is reused at
    every output position where its tap lands on the input.

    Equivalent to the derivation of the conv layer from an MLP by translation
    invariance and locality.

    Args:
        x_shape: ``(1, C_in, *spatial)``.
        w_shape: ``(C_out, C_in // groups, *k)``.
        **conv_kwargs: as for `jconv.conv` (zero padding, channels first).

    Returns:
        A `CheckResult` with scope ``"verified for sizes ..."``.

    Example:
        >>> check_fc_constraints((1, 1, 5), (2, 1, 3), padding=1).holds
        True
    """
    fn = "jconv.symbolic.check_fc_constraints"
    with Timer() as timer:
        setup = conv_setup(fn, tuple(x_shape), tuple(w_shape), None, conv_kwargs)
        V = symbols("v", w_shape)
        v = as_object_array(V, "", "")
        M = conv_matrix(V, x_shape[1:], **conv_kwargs)
        sizes, kernel = setup["sizes"], setup["kernel"]
        out, tables = conv_taps(sizes, kernel, setup["stride"], setup["dilation"], setup["pads"],
                                setup["mode"])
        c_out, c_group = w_shape[:2]
        c_in = c_group * setup["groups"]
        og = c_out // setup["groups"]
        n_in, n_out = math.prod(sizes), math.prod(out)
        H = sympy.Matrix(c_out * n_out, c_in * n_in,
                         lambda r, c: sympy.Symbol(f"h_{r}_{c}", real=True))
        substitution = {}
        for o in range(c_out):
            first = (o // og) * c_group
            for pi, p in enumerate(itertools.product(*(range(k) for k in out))):
                pairs = dict((i, t) for t, i in window(tables, p))
                for c in range(c_in):
                    for ii, i in enumerate(itertools.product(*(range(n) for n in sizes))):
                        h = H[o * n_out + pi, c * n_in + ii]
                        in_group = first <= c < first + c_group
                        substitution[h] = (v[(o, c - first, *pairs[i])]
                                           if in_group and i in pairs else 0)
        constrained = H.xreplace(substitution)
        ok_equal = first_difference(constrained, M) is None
        row_nnz = max(sum(1 for j in range(M.cols) if M[r, j] != 0) for r in range(M.rows))
        ok_local = row_nnz <= c_group * math.prod(kernel)
        uses = {}
        for e in M.values():
            for sym in e.free_symbols:
                uses[sym] = uses.get(sym, 0) + 1
        fc_params, conv_params = H.rows * H.cols, math.prod(w_shape)
    return CheckResult(
        "conv = constrained FC layer",
        "a fully connected layer with locality and weight sharing imposed is the conv "
        "layer: H constrained == M(V)",
        ok_equal and ok_local, _scope(x_shape, w_shape, conv_kwargs),
        f"constrained H == conv_matrix(V): {ok_equal}; at most {row_nnz} nonzeros per row "
        f"(receptive field {c_group}x{math.prod(kernel)}); {fc_params} FC weights -> "
        f"{conv_params} shared weights, each used at {min(uses.values())}..{max(uses.values())}"
        f" positions",
        timer.elapsed,
        r"H_{(o,p),(c,i)} = [\,i = ps + td - lo\,]\; V_{o,c,t} \;\Rightarrow\; H = M(V)",
    )


def check_pointwise(x_shape, c_out: int, *, channels_last: bool = False) -> CheckResult:
    r"""A ``1 x 1`` convolution is a fully connected layer applied at every pixel.

    $$y[:, p] = W\, x[:, p] \;\;\forall p, \qquad M = W \otimes I_{\prod n}
      \;(\text{channels last: } I_{\prod n} \otimes W)$$

    Exact on symbol arrays: the matrix of the ``1 x 1`` conv is the Kronecker product of
    the ``C_out x C_in`` weight matrix with the identity over pixels, and each output
    pixel is ``W`` times that input pixel.

    Equivalent to ``einsum("oc,nc...->no...", W, x)`` (a "network in network" layer).

    Args:
        x_shape: ``(1, C_in, *spatial)`` (``(1, *spatial, C_in)`` with channels_last).
        c_out: output channels.
        channels_last: use the NHWC/HWIO layout.

    Returns:
        A `CheckResult` with scope ``"verified for sizes ..."``.

    Example:
        >>> check_pointwise((1, 3, 2, 2), 2).holds
        True
    """
    with Timer() as timer:
        nd = len(x_shape) - 2
        c_in = x_shape[-1] if channels_last else x_shape[1]
        sizes = x_shape[1:-1] if channels_last else x_shape[2:]
        w_shape = (*(1,) * nd, c_in, c_out) if channels_last else (c_out, c_in, *(1,) * nd)
        X, W = symbols("x", x_shape), symbols("w", w_shape)
        Wm = sympy.Matrix(c_out, c_in, lambda o, c: (W[(*(0,) * nd, c, o)] if channels_last
                                                     else W[(o, c, *(0,) * nd)]))
        M = conv_matrix(W, x_shape[1:], channels_last=channels_last)
        eye = sympy.eye(math.prod(sizes))
        kron = (sympy.kronecker_product(eye, Wm) if channels_last
                else sympy.kronecker_product(Wm, eye))
        ok_kron = first_difference(M, kron) is None
        y = as_object_array(conv(X, W, channels_last=channels_last), "", "")
        x = as_object_array(X, "", "")
        ok_pixels = True
        for p in itertools.product(*(range(n) for n in sizes)):
            xp = x[(0, *p, slice(None))] if channels_last else x[(0, slice(None), *p)]
            yp = y[(0, *p, slice(None))] if channels_last else y[(0, slice(None), *p)]
            if first_difference(sympy.Matrix(list(yp)), Wm * sympy.Matrix(list(xp))) is not None:
                ok_pixels = False
    return CheckResult(
        "1x1 conv = per-pixel FC", "a 1x1 convolution applies the same C_out x C_in matrix "
        "at every pixel: M = W (x) I",
        ok_kron and ok_pixels,
        verified_for(f"x {tuple(x_shape)}, C_out = {c_out}" + (", channels_last" if channels_last
                                                              else "")),
        f"M == {'I (x) W' if channels_last else 'W (x) I'}: {ok_kron}; y[:, p] == W x[:, p] at "
        f"all {math.prod(sizes)} pixels: {ok_pixels}",
        timer.elapsed, r"M_{1\times 1} = W \otimes I",
    )


def check_full_kernel_fc(x_shape, c_out: int) -> CheckResult:
    r"""A ``"valid"`` convolution whose kernel covers the whole input is a dense layer.

    $$M = \operatorname{reshape}(w, (C_{out}, C_{in} \prod n))$$

    with one output position per channel: every weight is used once, nothing is
    shared, and the conv matrix is the flattened kernel (exact).

    Equivalent to ``x.reshape(N, -1) @ w.reshape(C_out, -1).T``.

    Args:
        x_shape: ``(1, C_in, *spatial)``.
        c_out: output channels.

    Returns:
        A `CheckResult` with scope ``"verified for sizes ..."``.

    Example:
        >>> check_full_kernel_fc((1, 2, 3), 2).holds
        True
    """
    with Timer() as timer:
        w_shape = (c_out, *x_shape[1:])
        W = symbols("w", w_shape)
        M = conv_matrix(W, x_shape[1:])
        dense = sympy.Matrix(c_out, math.prod(x_shape[1:]), _flat(W))
        holds = first_difference(M, dense) is None
    return CheckResult(
        "full kernel = dense layer", "a valid conv with a kernel as large as the input is "
        "the dense layer with the flattened kernel as weight matrix",
        holds, verified_for(f"x {tuple(x_shape)}, C_out = {c_out}"),
        f"M {M.shape} == reshape(w): {holds}", timer.elapsed,
        r"M = \operatorname{reshape}(w, C_{out} \times C_{in}\textstyle\prod n)",
    )


def check_scalar_conv() -> CheckResult:
    r"""Convolution of scalars is multiplication (layer, transposed layer and signal).

    $$x * w = x\,w \quad\text{for } 1 \times 1 \text{ operands}$$

    Exact: `conv` of a ``(1, 1, 1)`` input with a ``(1, 1, 1)`` kernel, `conv_transpose`
    likewise, and `convolve` / `correlate` of length-1 sequences all give ``x w`` (so
    the layer equation ``y_i = sum_j w_ij * x_j + b_i`` generalises the fully
    connected layer ``y_i = sum_j w_ij x_j + b_i``).

    Equivalent to ``numpy.convolve([x], [w]) == [x * w]``.

    Returns:
        A `CheckResult` (complete: the statement concerns one size).

    Example:
        >>> check_scalar_conv().holds
        True
    """
    from ._reference import conv_transpose, convolve, correlate

    with Timer() as timer:
        x, w = sympy.symbols("x w", real=True)
        results = {
            "conv": conv([[[x]]], [[[w]]])[0, 0, 0],
            "conv_transpose": conv_transpose([[[x]]], [[[w]]])[0, 0, 0],
            "convolve": convolve([x], [w])[0],
            "correlate": correlate([x], [w])[0],
        }
        holds = all(sympy.expand(v - x * w) == 0 for v in results.values())
    return CheckResult(
        "scalar conv = product", "convolution of scalars is multiplication", holds,
        verified_for("1 x 1 (the only size the statement concerns)"),
        ", ".join(f"{k}: {v}" for k, v in results.items()), timer.elapsed, r"x * w = x\,w",
    )


