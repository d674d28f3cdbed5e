r"""Reference semantics: every convolution computed from its defining sum, with its shapes.

Nothing here calls the numeric code. Argument validation (and its error messages) is
delegated to the public rules of `jconv._spec`, so a call that the numeric function
rejects is rejected here with the same message; the padding, the output sizes and the
sums themselves are derived again, independently, in this module. The first section
converts between SymPy arrays, nested lists and NumPy object arrays.
"""

from __future__ import annotations

import functools
import itertools
import math
import operator

import numpy as np
import sympy

from .._spec import conv_layer, conv_transpose_layer, signal_plan

# ---------------------------------------------------------------------------------------
# Arrays: SymPy arrays, nested lists and NumPy object arrays
# ---------------------------------------------------------------------------------------


def symbols(name: str, shape, **assumptions) -> sympy.Array:
    r"""A SymPy array of distinct symbols, one per entry, named ``name_i_j...``.

    $$X = \big(x_{i_1 \dots i_r}\big)_{0 \le i_k < n_k}$$

    Equivalent to ``sympy.Array(sympy.symbols(...), shape)`` with systematic names.
    The symbols are real unless other assumptions are given (so ``conjugate`` leaves
    them unchanged, as for real data).

    Args:
        name: the prefix of every symbol's name.
        shape: a tuple of non-negative ints (``()`` gives a 0-d array of one symbol).
        **assumptions: SymPy assumptions; default ``real=True``.

    Returns:
        A ``sympy.ImmutableDenseNDimArray`` of the given shape.

    Raises:
        TypeError: ``name`` is not a string or ``shape`` not a sequence of ints.
        ValueError: a negative dimension.

    Example:
        >>> symbols("x", (2, 2))
        [[x_0_0, x_0_1], [x_1_0, x_1_1]]
    """
    if not isinstance(name, str):
        raise TypeError(f"jconv.symbolic.symbols: name must be a string, got {name!r}")
    shape = shape_arg("jconv.symbolic.symbols", "shape", shape)
    assumptions = assumptions or {"real": True}
    flat = [
        sympy.Symbol("_".join((name, *map(str, idx))) if idx else name, **assumptions)
        for idx in itertools.product(*(range(n) for n in shape))
    ]
    return sympy.ImmutableDenseNDimArray(flat, shape)


def shape_arg(fn: str, arg: str, shape) -> tuple[int, ...]:
    try:
        shape = tuple(shape)
    except TypeError:
        raise TypeError(f"{fn}: {arg} must be a sequence of ints, got {shape!r}") from None
    if not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in shape):
        raise TypeError(f"{fn}: {arg} must be a sequence of ints, got {shape!r}")
    if any(n < 0 for n in shape):
        raise ValueError(f"{fn}: {arg} must have non-negative entries, got {shape!r}")
    return tuple(int(n) for n in shape)


_sympify = np.frompyfunc(sympy.sympify, 1, 1)


def as_object_array(a, fn: str, name: str) -> np.ndarray:
    """A NumPy object array of SymPy expressions from a SymPy array, nested list or array."""
    if isinstance(a, sympy.NDimArray):
        shape = tuple(a.shape)
        arr = np.empty(shape, dtype=object)
        if not shape:
            arr[()] = a[()]
        elif math.prod(shape):
            arr[...] = np.array(a.tolist(), dtype=object).reshape(shape)
        return arr
    if isinstance(a, sympy.MatrixBase):
        return as_object_array(sympy.ImmutableDenseNDimArray(a.tolist()), fn, name)
    if isinstance(a, sympy.Basic):
        arr = np.empty((), dtype=object)
        arr[()] = a
        return arr
    try:
        arr = np.array(a, dtype=object)
    except ValueError as e:
        raise ValueError(f"{fn}: {name} is not a regular (rectangular) array: {e}") from None
    if arr.dtype != object:
        raise TypeError(f"{fn}: {name} must be array-like, got {type(a).__name__}")
    if any(isinstance(e, (list, tuple, np.ndarray)) for e in arr.flat):
        raise ValueError(f"{fn}: {name} is not a regular (rectangular) array")
    if arr.size:
        arr = _sympify(arr).astype(object)
    return arr


def to_sympy_array(arr: np.ndarray) -> sympy.Array:
    """A ``sympy.ImmutableDenseNDimArray`` from a NumPy object array."""
    if arr.ndim == 0:
        return sympy.ImmutableDenseNDimArray([arr[()]], ())
    return sympy.ImmutableDenseNDimArray(list(arr.reshape(-1)), arr.shape)


def add(terms) -> sympy.Expr:
    """The sum of a list of SymPy terms (``0`` for none), built in one ``Add``."""
    if not terms:
        return sympy.S.Zero
    if all(isinstance(t, sympy.Basic) for t in terms):
        return sympy.Add(*terms)
    return functools.reduce(operator.add, terms)


def ravel_index(index, shape) -> int:
    """C-order flat position of ``index`` in an array of ``shape``."""
    flat = 0
    for i, n in zip(index, shape):
        flat = flat * n + i
    return flat


# ---------------------------------------------------------------------------------------
# Arguments (already validated by jconv._spec; re-derived here)
# ---------------------------------------------------------------------------------------


def per_dim(value, nd: int) -> tuple[int, ...]:
    """An int or a sequence of ``nd`` ints, as a tuple."""
    if isinstance(value, (int, np.integer)):
        return (int(value),) * nd
    return tuple(int(v) for v in value)


def resolve_padding(padding, sizes, kernel, stride, dilation) -> tuple[tuple[int, int], ...]:
    """(low, high) per spatial dim for `conv`'s ``padding`` argument.

    ``"same"`` is XLA's SAME: output ``ceil(n / s)``, total padding
    ``max((ceil(n / s) - 1) s + d (k - 1) + 1 - n, 0)``, the odd element at the high end.
    """
    nd = len(sizes)
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return ((0, 0),) * nd
        if mode == "full":
            return tuple((d * (k - 1), d * (k - 1)) for k, d in zip(kernel, dilation))
        pairs = []
        for n, k, s, d in zip(sizes, kernel, stride, dilation):
            out = -(-n // s)
            total = max((out - 1) * s + d * (k - 1) + 1 - n, 0)
            pairs.append((total // 2, total - total // 2))
        return tuple(pairs)
    if isinstance(padding, (int, np.integer)):
        return ((int(padding), int(padding)),) * nd
    pairs = []
    for p in padding:
        if isinstance(p, (int, np.integer)):
            pairs.append((int(p), int(p)))
        else:
            pairs.append((int(p[0]), int(p[1])))
    return tuple(pairs)


def conv_out_size(n: int, k: int, s: int, d: int, lo: int, hi: int) -> int:
    """Number of windows: ``floor((n + lo + hi - d (k - 1) - 1) / s) + 1``."""
    return (n + lo + hi - d * (k - 1) - 1) // s + 1


def source_index(i: int, n: int, lo: int, mode: str) -> int | None:
    """Position ``i`` of the padded input -> position in the input, or None for a zero.

    ``zeros``: outside the input is zero; ``circular``: periodic; ``replicate``: the
    nearest edge sample; ``reflect``: mirrored about the edge samples (no repeat).
    """
    j = i - lo
    if mode == "zeros":
        return j if 0 <= j < n else None
    if mode == "circular":
        return j % n
    if mode == "replicate":
        return min(max(j, 0), n - 1)
    if n == 1:  # reflect
        return 0
    period = 2 * (n - 1)
    j %= period
    return j if j < n else period - j


def conv_taps(sizes, kernel, stride, dilation, pads, mode):
    """Per dim and output position: the (tap, input position) pairs of the window.

    Returns ``(out_sizes, tables)`` with ``tables[dim][p] = [(t, i), ...]``: output
    position ``p`` reads input position ``i`` with kernel tap ``t``; taps that fall on
    zero padding are left out.
    """
    out, tables = [], []
    for n, k, s, d, (lo, hi) in zip(sizes, kernel, stride, dilation, pads):
        o = conv_out_size(n, k, s, d, lo, hi)
        out.append(o)
        table = []
        for p in range(o):
            pairs = []
            for t in range(k):
                i = source_index(p * s + t * d, n, lo, mode)
                if i is not None:
                    pairs.append((t, i))
            table.append(pairs)
        tables.append(table)
    return tuple(out), tables


def window(tables, p):
    """All (taps, input position) pairs of the N-d window at output position ``p``."""
    result = []
    for combo in itertools.product(*(tables[i][pi] for i, pi in enumerate(p))):
        result.append((tuple(c[0] for c in combo), tuple(c[1] for c in combo)))
    return result


# ---------------------------------------------------------------------------------------
# conv
# ---------------------------------------------------------------------------------------


def conv_setup(fn, x_shape, w_shape, bias_shape, kw):
    """Validate with the spec's rules, then re-derive the layer in channels-first form."""
    conv_kw = dict(kw)
    conv_layer(fn, x_shape, w_shape, np.float64, bias_shape=bias_shape, **conv_kw)
    channels_last = bool(conv_kw.get("channels_last", False))
    nd = len(x_shape) - 2
    if channels_last:
        sizes, kernel = tuple(x_shape[1:-1]), tuple(w_shape[:-2])
    else:
        sizes, kernel = tuple(x_shape[2:]), tuple(w_shape[2:])
    stride = per_dim(conv_kw.get("stride", 1), nd)
    dilation = per_dim(conv_kw.get("dilation", 1), nd)
    pads = resolve_padding(conv_kw.get("padding", 0), sizes, kernel, stride, dilation)
    return dict(
        sizes=sizes, kernel=kernel, stride=stride, dilation=dilation, pads=pads,
        groups=int(conv_kw.get("groups", 1)), mode=conv_kw.get("padding_mode", "zeros"),
        channels_last=channels_last,
    )


def conv_first(x: np.ndarray, w: np.ndarray, channels_last: bool):
    """(N, *S, C), (*K, I, O) -> (N, C, *S), (O, I, *K) when channels_last."""
    if not channels_last:
        return x, w
    nd = x.ndim - 2
    return np.moveaxis(x, -1, 1), np.transpose(w, (nd + 1, nd, *range(nd)))


def conv_terms(setup, c_out: int, c_group: int):
    """Every term of the defining sum, once: the shared loop of `conv`, `conv_matrix` and
    `kernel_matrix`.

    Returns ``(out_sizes, terms)``; ``terms`` yields ``(p, o, [(c, t, ci, i), ...])`` per
    output position ``p`` and channel ``o``: kernel entry ``w[o, c, *t]`` meets input
    ``x[ci, *i]`` (``ci`` the input channel of ``c`` in the group of ``o``).
    """
    out, tables = conv_taps(setup["sizes"], setup["kernel"], setup["stride"],
                            setup["dilation"], setup["pads"], setup["mode"])
    og = c_out // setup["groups"]

    def terms():
        for p in itertools.product(*(range(o) for o in out)):
            pairs = window(tables, p)
            for o in range(c_out):
                first = (o // og) * c_group
                yield p, o, [(c, t, first + c, i) for c in range(c_group) for t, i in pairs]

    return out, terms()


def conv_objects(x, w, bias, setup) -> np.ndarray:
    """The defining sum on object arrays in channels-first layout."""
    n_batch = x.shape[0]
    out, terms = conv_terms(setup, *w.shape[:2])
    y = np.empty((n_batch, w.shape[0], *out), dtype=object)
    for p, o, window_terms in terms:
        for n in range(n_batch):
            value = add([w[(o, c, *t)] * x[(n, ci, *i)] for c, t, ci, i in window_terms])
            y[(n, o, *p)] = value if bias is None else value + bias[o]
    return y


def conv(x, w, bias=None, **conv_kwargs) -> sympy.Array:
    r"""The convolution layer (a cross-correlation) from its defining sum, on SymPy arrays.

    $$y[n, o, p] = b[o] + \sum_{c=0}^{C_{in}/G - 1} \sum_{t}
      w[o, c, t]\; \tilde x[n,\; g(o) \tfrac{C_{in}}{G} + c,\; p s + t d]$$

    with ``g(o) = floor(o / (C_out / G))`` the group of output channel ``o`` and
    ``x~`` the input padded by ``padding`` with ``padding_mode`` (zeros, reflect,
    replicate or circular; a negative padding crops). The reference semantics of
    `jconv.conv`: it shares no code with the numeric algorithms.

    Equivalent to ``jconv.conv(x, w, bias, **conv_kwargs)``, to
    ``torch.nn.functional.conv{1,2,3}d`` and to ``jax.lax.conv_general_dilated``, but
    on symbols (or any SymPy numbers).

    Args:
        x: ``(N, C_in, *spatial)`` (or ``(N, *spatial, C_in)`` with ``channels_last``):
            a SymPy array, nested lists or a NumPy (object) array.
        w: ``(C_out, C_in // groups, *kernel)`` (or ``(*kernel, C_in // groups, C_out)``).
        bias: optional ``(C_out,)``.
        **conv_kwargs: ``stride``, ``padding`` (int, per dim, ``(low, high)`` pairs,
            ``"valid"``, ``"same"``, ``"full"``), ``dilation``, ``groups``,
            ``padding_mode``, ``channels_last``, exactly as for `jconv.conv`.

    Returns:
        A ``sympy.ImmutableDenseNDimArray`` ``(N, C_out, *out)`` (or channels last) of
        expanded expressions.

    Raises:
        TypeError, ValueError: the same argument errors as `jconv.conv`.

    Example:
        >>> from jconv.symbolic import symbols, conv
        >>> conv(symbols("x", (1, 1, 3)), symbols("w", (1, 1, 2)))
        [[[w_0_0_0*x_0_0_0 + w_0_0_1*x_0_0_1, w_0_0_0*x_0_0_1 + w_0_0_1*x_0_0_2]]]
    """
    fn = "jconv.symbolic.conv"
    x = as_object_array(x, fn, "x")
    w = as_object_array(w, fn, "w")
    b = None if bias is None else as_object_array(bias, fn, "bias")
    setup = conv_setup(fn, x.shape, w.shape, None if b is None else b.shape, conv_kwargs)
    xf, wf = conv_first(x, w, setup["channels_last"])
    y = conv_objects(xf, wf, b, setup)
    if setup["channels_last"]:
        y = np.moveaxis(y, 1, -1)
    return to_sympy_array(y)


def conv_output_shape(x_shape, w_shape, **conv_kwargs) -> tuple[int, ...]:
    r"""The output shape of `jconv.conv`, from the window-count formula.

    $$o = \Big\lfloor \frac{n + lo + hi - d (k - 1) - 1}{s} \Big\rfloor + 1$$

    Equivalent to ``jax.eval_shape(jconv.conv, x, w, ...).shape``, derived independently.

    Args:
        x_shape, w_shape: the operand shapes.
        **conv_kwargs: as for `jconv.conv`.

    Returns:
        The output shape.

    Raises:
        TypeError, ValueError: the argument errors of `jconv.conv`.

    Example:
        >>> conv_output_shape((1, 3, 32, 32), (8, 3, 5, 5), stride=2, padding="same")
        (1, 8, 16, 16)
    """
    setup = conv_setup("jconv.symbolic.conv_output_shape", tuple(x_shape), tuple(w_shape),
                       None, conv_kwargs)
    out = tuple(
        conv_out_size(n, k, s, d, lo, hi)
        for n, k, s, d, (lo, hi) in zip(setup["sizes"], setup["kernel"], setup["stride"],
                                        setup["dilation"], setup["pads"])
    )
    c_out = w_shape[-1] if setup["channels_last"] else w_shape[0]
    n = x_shape[0]
    return (n, *out, c_out) if setup["channels_last"] else (n, c_out, *out)


def matching_transpose_kwargs(x_shape, w_shape, **conv_kwargs) -> dict:
    r"""The `jconv.conv_transpose` arguments whose output has the shape of ``x``.

    $$\text{output\_padding} = (n + lo + hi - d (k - 1) - 1) \bmod s$$

    (the input tail that no forward window reaches), with the same stride, explicit
    padding pairs, dilation and groups.

    Equivalent to PyTorch's ``output_size=`` argument of ``ConvTranspose``.

    Args:
        x_shape, w_shape: the forward `jconv.conv` operand shapes (channels first).
        **conv_kwargs: the forward arguments (zero padding mode).

    Returns:
        A dict of `jconv.conv_transpose` keyword arguments.

    Raises:
        ValueError: a padding mode other than zeros, or channels_last.

    Example:
        >>> matching_transpose_kwargs((1, 1, 6), (1, 1, 3), stride=2, padding=1)["output_padding"]
        (1,)
    """
    fn = "jconv.symbolic.matching_transpose_kwargs"
    if conv_kwargs.get("padding_mode", "zeros") != "zeros" or conv_kwargs.get("channels_last"):
        raise ValueError(f"{fn}: only padding_mode='zeros' with channels first has a "
                         f"transposed convolution of the same form")
    s = conv_setup(fn, tuple(x_shape), tuple(w_shape), None, conv_kwargs)
    rem = tuple(
        (n + lo + hi - d * (k - 1) - 1) % st
        for n, k, st, d, (lo, hi) in zip(s["sizes"], s["kernel"], s["stride"], s["dilation"],
                                          s["pads"])
    )
    return dict(stride=s["stride"], padding=s["pads"], output_padding=rem,
                dilation=s["dilation"], groups=s["groups"])


# ---------------------------------------------------------------------------------------
# conv_transpose
# ---------------------------------------------------------------------------------------


def transpose_setup(fn, x_shape, w_shape, bias_shape, kw):
    """Validate with the spec's rules, then re-derive the transposed layer."""
    kw = dict(kw)
    conv_transpose_layer(fn, x_shape, w_shape, np.float64, bias_shape=bias_shape, **kw)
    channels_last = bool(kw.get("channels_last", False))
    nd = len(x_shape) - 2
    if channels_last:
        sizes, kernel = tuple(x_shape[1:-1]), tuple(w_shape[:-2])
    else:
        sizes, kernel = tuple(x_shape[2:]), tuple(w_shape[2:])
    stride = per_dim(kw.get("stride", 1), nd)
    dilation = per_dim(kw.get("dilation", 1), nd)
    output_padding = per_dim(kw.get("output_padding", 0), nd)
    padding = kw.get("padding", 0)
    if isinstance(padding, str):  # only "valid" passes validation
        padding = 0
    pads = resolve_padding(padding, sizes, kernel, stride, dilation)
    out = tuple(
        (n - 1) * s - lo - hi + d * (k - 1) + op + 1
        for n, k, s, d, (lo, hi), op in zip(sizes, kernel, stride, dilation, pads, output_padding)
    )
    return dict(
        sizes=sizes, kernel=kernel, stride=stride, dilation=dilation, pads=pads, out=out,
        groups=int(kw.get("groups", 1)), channels_last=channels_last,
    )


def transpose_taps(setup):
    """Per dim and output position ``q``: pairs (tap t, input i) with ``i s + t d = q + lo``."""
    tables = []
    for n, k, s, d, (lo, _), o in zip(
        setup["sizes"], setup["kernel"], setup["stride"], setup["dilation"], setup["pads"],
        setup["out"],
    ):
        table = []
        for q in range(o):
            pairs = []
            for t in range(k):
                num = q + lo - t * d
                if num % s == 0 and 0 <= num // s < n:
                    pairs.append((t, num // s))
            table.append(pairs)
        tables.append(table)
    return tables


def transpose_terms(setup, c_in: int, c_out_group: int):
    """Every term of the scatter definition gathered per output, once: the shared loop of
    `conv_transpose` and `conv_transpose_matrix`.

    Yields ``(q, oc, [(ci, o, t, i), ...])`` per output position ``q`` and output channel
    ``oc``: input ``x[ci, *i]`` meets kernel entry ``w[ci, o, *t]``.
    """
    groups = setup["groups"]
    c_in_group = c_in // groups
    tables = transpose_taps(setup)
    for q in itertools.product(*(range(o) for o in setup["out"])):
        pairs = window(tables, q)
        for g in range(groups):
            for o in range(c_out_group):
                yield q, g * c_out_group + o, [(g * c_in_group + c, o, t, i)
                                               for c in range(c_in_group) for t, i in pairs]


def conv_transpose_objects(x, w, bias, setup) -> np.ndarray:
    """The scatter definition, gathered per output, on channels-first object arrays."""
    n_batch, c_in = x.shape[:2]
    c_out_group = w.shape[1]
    y = np.empty((n_batch, c_out_group * setup["groups"], *setup["out"]), dtype=object)
    for q, oc, terms in transpose_terms(setup, c_in, c_out_group):
        for n in range(n_batch):
            value = add([x[(n, ci, *i)] * w[(ci, o, *t)] for ci, o, t, i in terms])
            y[(n, oc, *q)] = value if bias is None else value + bias[oc]
    return y


def conv_transpose(x, w, bias=None, **kwargs) -> sympy.Array:
    r"""The transposed convolution from its defining (scatter) sum, on SymPy arrays.

    Every input sample scatters a copy of the kernel, scaled by it, into the output:

    $$y[n, g \tfrac{C_{out}}{G} + o, q] = b + \sum_{c, t, i\,:\; i s + t d = q + lo}
      x[n, g \tfrac{C_{in}}{G} + c, i]\; w[g \tfrac{C_{in}}{G} + c, o, t]$$

    with output length ``(n - 1) s - lo - hi + d (k - 1) + output_padding + 1`` per dim.
    No kernel flip appears in this definition; that the result is the adjoint of
    `conv` is a theorem (`check_adjoint`), not an assumption.

    Equivalent to ``jconv.conv_transpose`` and ``torch.nn.functional.conv_transpose{1,2,3}d``.

    Args:
        x: ``(N, C_in, *spatial)`` (or channels last).
        w: ``(C_in, C_out // groups, *kernel)`` (or ``(*kernel, C_out // groups, C_in)``).
        bias: optional ``(C_out,)``.
        **kwargs: ``stride``, ``padding`` (int, per dim, pairs or ``"valid"``),
            ``output_padding``, ``dilation``, ``groups``, ``channels_last``.

    Returns:
        A ``sympy.ImmutableDenseNDimArray`` ``(N, C_out, *out)`` (or channels last).

    Raises:
        TypeError, ValueError: the same argument errors as `jconv.conv_transpose`.

    Example:
        >>> from jconv.symbolic import symbols, conv_transpose
        >>> conv_transpose(symbols("y", (1, 1, 2)), symbols("w", (1, 1, 2)))
        [[[w_0_0_0*y_0_0_0, w_0_0_0*y_0_0_1 + w_0_0_1*y_0_0_0, w_0_0_1*y_0_0_1]]]
    """
    fn = "jconv.symbolic.conv_transpose"
    x = as_object_array(x, fn, "x")
    w = as_object_array(w, fn, "w")
    b = None if bias is None else as_object_array(bias, fn, "bias")
    setup = transpose_setup(fn, x.shape, w.shape, None if b is None else b.shape, kwargs)
    xf, wf = conv_first(x, w, setup["channels_last"])
    y = conv_transpose_objects(xf, wf, b, setup)
    if setup["channels_last"]:
        y = np.moveaxis(y, 1, -1)
    return to_sympy_array(y)


# ---------------------------------------------------------------------------------------
# convolve / correlate
# ---------------------------------------------------------------------------------------


def signal_pairs(n: int, m: int, mode: str, correlate: bool):
    """For one convolved axis: per output index, the pairs (index into a, index into b).

    Convolution: ``full[k] = sum_j a[k - j] b[j]``; correlation (lag ``k - (m - 1)``):
    ``full[k] = sum_j a[k - (m - 1) + j] conj(b[j])``. ``same`` keeps ``n`` outputs
    starting at ``(m - 1) // 2``, ``valid`` keeps ``|n - m| + 1`` starting at
    ``min(n, m) - 1``; ``circular`` keeps ``n`` outputs with ``a`` indexed mod ``n``
    (``a[(k - j) mod n]``, and for correlation lag ``k``: ``a[(k + j) mod n]``).
    """
    def a_index(k, j):
        return k - (m - 1) + j if correlate else k - j

    if mode == "circular":
        if correlate:  # lag 0 at k = 0
            return [[((k + j) % n, j) for j in range(m)] for k in range(n)]
        return [[((k - j) % n, j) for j in range(m)] for k in range(n)]
    full = [
        [(a_index(k, j), j) for j in range(m) if 0 <= a_index(k, j) < n]
        for k in range(n + m - 1)
    ]
    if mode == "full":
        return full
    if mode == "same":
        start = (m - 1) // 2
        return full[start:start + n]
    start = min(n, m) - 1
    return full[start:start + abs(n - m) + 1]


def signal_objects(a, b, mode, axes, correlate: bool) -> np.ndarray:
    """The defining sum of `convolve` / `correlate` on object arrays."""
    nd = a.ndim
    if correlate:
        b = np.frompyfunc(sympy.conjugate, 1, 1)(b) if b.size else b
    pairs = {ax: signal_pairs(a.shape[ax], b.shape[ax], mode, correlate) for ax in axes}
    out_shape = tuple(
        len(pairs[ax]) if ax in axes else max(a.shape[ax], b.shape[ax]) for ax in range(nd)
    )
    y = np.empty(out_shape, dtype=object)
    for idx in itertools.product(*(range(s) for s in out_shape)):
        lists = []
        for ax in range(nd):
            if ax in axes:
                lists.append(pairs[ax][idx[ax]])
            else:
                ia = idx[ax] if a.shape[ax] > 1 else 0
                ib = idx[ax] if b.shape[ax] > 1 else 0
                lists.append([(ia, ib)])
        terms = [
            a[tuple(c[0] for c in combo)] * b[tuple(c[1] for c in combo)]
            for combo in itertools.product(*lists)
        ]
        y[idx] = add(terms)
    return y


def _signal(fn, a, b, mode, axes, correlate):
    a = as_object_array(a, fn, "a")
    b = as_object_array(b, fn, "b")
    plan = signal_plan(fn, a.shape, b.shape, mode, axes, np.float64)
    return to_sympy_array(signal_objects(a, b, mode, plan.axes, correlate))


def convolve(a, b, mode: str = "full", *, axes=None) -> sympy.Array:
    r"""Signal-processing convolution from its defining sum, on SymPy arrays.

    $$(a * b)[k] = \sum_j a[k - j]\, b[j]$$

    per convolved axis (a product of such sums in N-d), over the pairs where both
    indices are in range; ``"circular"`` reads ``a[(k - j) \bmod n]``. The other axes
    broadcast (equal lengths, or 1).

    Equivalent to ``jconv.convolve`` and ``scipy.signal.convolve(a, b, mode)``.

    Args:
        a, b: arrays of equal rank (SymPy arrays, nested lists, NumPy arrays).
        mode: ``"full"`` (``n + m - 1``), ``"same"`` (``n``, centred as SciPy does),
            ``"valid"`` (``|n - m| + 1``) or ``"circular"`` (``n``).
        axes: the convolved axes; all when None.

    Returns:
        A ``sympy.ImmutableDenseNDimArray``.

    Raises:
        TypeError, ValueError: the same argument errors as `jconv.convolve`.

    Example:
        >>> from jconv.symbolic import symbols, convolve
        >>> convolve(symbols("a", (2,)), symbols("b", (2,)))
        [a_0*b_0, a_0*b_1 + a_1*b_0, a_1*b_1]
    """
    return _signal("jconv.symbolic.convolve", a, b, mode, axes, correlate=False)


def correlate(a, b, mode: str = "full", *, axes=None) -> sympy.Array:
    r"""Signal-processing cross-correlation from its defining sum, on SymPy arrays.

    $$(a \star b)[k] = \sum_j a[k - (m - 1) + j]\; \overline{b[j]}$$

    (the lag is ``k - (m - 1)``; ``m`` the length of ``b``), cropped for ``"same"`` and
    ``"valid"`` exactly as `convolve`. ``"circular"`` has lag ``k`` at output ``k``:
    $(a \star b)[k] = \sum_j a[(k + j) \bmod n]\, \overline{b[j]}$.
    Defined directly, not through `convolve`: that ``correlate(a, b) ==
    convolve(a, conj(flip(b)))`` is checked by `check_flip_identity`.

    Equivalent to ``jconv.correlate`` and ``scipy.signal.correlate(a, b, mode)``.

    Args:
        a, b, mode, axes: as for `convolve`.

    Returns:
        A ``sympy.ImmutableDenseNDimArray``.

    Raises:
        TypeError, ValueError: the same argument errors as `jconv.correlate`.

    Example:
        >>> from jconv.symbolic import symbols, correlate
        >>> correlate(symbols("a", (2,)), symbols("b", (2,)))
        [a_0*b_1, a_0*b_0 + a_1*b_1, a_1*b_0]
    """
    return _signal("jconv.symbolic.correlate", a, b, mode, axes, correlate=True)
