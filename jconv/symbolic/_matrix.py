r"""Matrix forms: every convolution is a matrix acting on the flattened input (or kernel).

All matrices are assembled sparsely from ``{(row, col): expr}`` dicts built from the
defining sums (never by differentiating), and flattening is C-order throughout:
``vec(x)[ravel(c, i, j)] = x[c, i, j]``.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import sympy
from sympy.matrices.expressions import BlockDiagMatrix, BlockMatrix, ZeroMatrix

from ._reference import (
    add,
    as_object_array,
    conv_first,
    conv_setup,
    conv_terms,
    ravel_index,
    shape_arg,
    signal_pairs,
    transpose_setup,
    transpose_terms,
)


def _sparse(rows: int, cols: int, entries: dict) -> sympy.SparseMatrix:
    data = {}
    for key, terms in entries.items():
        value = add(terms)
        if value != 0:
            data[key] = value
    return sympy.SparseMatrix(rows, cols, data)


def vec(a) -> sympy.Matrix:
    r"""The C-order flattening of an array as a SymPy column vector.

    $$\operatorname{vec}(x)_{\,\mathrm{ravel}(i_1, \dots, i_r)} = x[i_1, \dots, i_r]$$

    Equivalent to ``numpy.ravel(a)`` as a column.

    Args:
        a: a SymPy array, nested list or NumPy array.

    Returns:
        A ``sympy.Matrix`` of shape ``(a.size, 1)``.

    Example:
        >>> from jconv.symbolic import symbols
        >>> vec(symbols("x", (2, 2))).T
        Matrix([[x_0_0, x_0_1, x_1_0, x_1_1]])
    """
    arr = as_object_array(a, "jconv.symbolic.vec", "a")
    return sympy.Matrix(arr.size, 1, list(arr.reshape(-1)))


def _layout_index(channel, position, channels, sizes, channels_last, batch=None, n=0):
    """Flat index of (n, channel, *position) in an (N, C, *S) or (N, *S, C) array."""
    if channels_last:
        index, shape = (*position, channel), (*sizes, channels)
    else:
        index, shape = (channel, *position), (channels, *sizes)
    if batch is not None:
        index, shape = (n, *index), (batch, *shape)
    return ravel_index(index, shape)


def conv_matrix(w, input_shape, **conv_kwargs) -> sympy.SparseMatrix:
    r"""The matrix ``M`` of ``x -> conv(x, w)``: ``vec(conv(x[None], w)[0]) == M vec(x)``.

    $$M[(o, p), (c', i)] = \sum_{t\,:\; \pi(p s + t d) = i} w[o, c, t]
      \quad\text{for } c' = g(o) \tfrac{C_{in}}{G} + c$$

    where ``pi`` maps a position of the padded input to the input position it reads
    (none for zero padding; with reflect / replicate / circular padding several taps
    can land on one input, and their weights add). Each ``(o, c')`` block is the
    Toeplitz (doubly Toeplitz in 2-D; circulant for circular padding) matrix of one
    single-channel correlation; blocks outside the group of ``o`` are zero, so groups
    give a block-diagonal matrix (see `conv_block_matrix`, `group_block_matrix`).

    For the ``1 x 3 x 3`` input and the ``2 x 1 x 2 x 2`` kernel ``[[a, b], [c, d]]``,
    ``[[e, f], [g, h]]`` this is the ``8 x 9`` matrix whose first row is
    ``a b 0 c d 0 0 0 0``.

    Equivalent to the Jacobian ``jax.jacfwd(lambda x: jconv.conv(x[None], w)[0])``
    reshaped to a matrix, computed from the defining sum instead.

    Args:
        w: the kernel, as for `jconv.conv` (a SymPy array, nested list or array).
        input_shape: ``(C_in, *spatial)`` (or ``(*spatial, C_in)`` with channels_last),
            one sample without the batch axis.
        **conv_kwargs: ``stride``, ``padding``, ``dilation``, ``groups``,
            ``padding_mode``, ``channels_last``, as for `jconv.conv`.

    Returns:
        A ``sympy.SparseMatrix`` with ``C_out prod(out)`` rows and ``C_in prod(spatial)``
        columns, rows and columns in C-order of the (channels-first or channels-last)
        layout.

    Raises:
        TypeError, ValueError: the argument errors of `jconv.conv`.

    Example:
        >>> import sympy
        >>> from jconv.symbolic import conv_matrix
        >>> a, b, c, d, e, f, g, h = sympy.symbols("a:h")
        >>> M = conv_matrix([[[[a, b], [c, d]]], [[[e, f], [g, h]]]], (1, 3, 3))
        >>> M.shape, list(M.row(0))
        ((8, 9), [a, b, 0, c, d, 0, 0, 0, 0])
    """
    fn = "jconv.symbolic.conv_matrix"
    w = as_object_array(w, fn, "w")
    input_shape = shape_arg(fn, "input_shape", input_shape)
    x_shape = (1, *input_shape)
    setup = conv_setup(fn, x_shape, w.shape, None, conv_kwargs)
    _, wf = conv_first(np.empty(x_shape, object), w, setup["channels_last"])
    c_out, c_group = wf.shape[:2]
    sizes, cl = setup["sizes"], setup["channels_last"]
    c_in = c_group * setup["groups"]
    out, terms = conv_terms(setup, c_out, c_group)
    entries: dict = {}
    for p, o, window_terms in terms:
        row = _layout_index(o, p, c_out, out, cl)
        for c, t, ci, i in window_terms:
            col = _layout_index(ci, i, c_in, sizes, cl)
            entries.setdefault((row, col), []).append(wf[(o, c, *t)])
    return _sparse(c_out * math.prod(out), c_in * math.prod(sizes), entries)


def kernel_matrix(x, kernel_shape, **conv_kwargs) -> sympy.SparseMatrix:
    r"""The matrix ``A`` of ``w -> conv(x, w)``: ``vec(conv(x, w)) == A vec(w)``.

    $$A[(n, o, p), (o', c, t)] = [o = o'] \sum \tilde x[n, g(o) \tfrac{C_{in}}{G} + c,
      p s + t d]$$

    the same bilinear map as `conv_matrix`, read as a linear map of the kernel (the
    "im2col" matrix, with the output-channel structure made explicit).

    Equivalent to the Jacobian of ``w -> jconv.conv(x, w)`` as a matrix.

    Args:
        x: one sample ``(C_in, *spatial)`` or a batch ``(N, C_in, *spatial)`` (channels
            last with ``channels_last``), as a SymPy array, nested list or array.
        kernel_shape: the shape of ``w`` (as for `jconv.conv`).
        **conv_kwargs: as for `jconv.conv`.

    Returns:
        A ``sympy.SparseMatrix`` with one row per output entry (C-order, batch first when
        ``x`` has a batch axis) and one column per kernel entry (C-order of
        ``kernel_shape``).

    Raises:
        TypeError, ValueError: the argument errors of `jconv.conv`, or an ``x`` whose rank
            is neither ``len(kernel_shape)`` nor one less.

    Example:
        >>> from jconv.symbolic import symbols, kernel_matrix
        >>> kernel_matrix(symbols("x", (1, 3)), (1, 1, 2))
        Matrix([
        [x_0_0, x_0_1],
        [x_0_1, x_0_2]])
    """
    fn = "jconv.symbolic.kernel_matrix"
    x = as_object_array(x, fn, "x")
    kernel_shape = shape_arg(fn, "kernel_shape", kernel_shape)
    batched = x.ndim == len(kernel_shape)
    if not batched and x.ndim != len(kernel_shape) - 1:
        raise ValueError(
            f"{fn}: x has rank {x.ndim} but kernel_shape {kernel_shape} has rank "
            f"{len(kernel_shape)}; x must have rank {len(kernel_shape) - 1} (one sample) "
            f"or {len(kernel_shape)} (a batch)"
        )
    xb = x if batched else x[None]
    setup = conv_setup(fn, xb.shape, kernel_shape, None, conv_kwargs)
    cl = setup["channels_last"]
    xf, _ = conv_first(xb, np.empty(kernel_shape, object), cl)
    n_batch, c_in = xf.shape[:2]
    c_out = kernel_shape[-1] if cl else kernel_shape[0]
    out, terms = conv_terms(setup, c_out, c_in // setup["groups"])
    entries: dict = {}
    for p, o, window_terms in terms:
        for n in range(n_batch):
            row = _layout_index(o, p, c_out, out, cl, n_batch if batched else None, n)
            for c, t, ci, i in window_terms:
                col = ravel_index((*t, c, o) if cl else (o, c, *t), kernel_shape)
                entries.setdefault((row, col), []).append(xf[(n, ci, *i)])
    rows = n_batch * c_out * math.prod(out)
    return _sparse(rows, math.prod(kernel_shape), entries)


def conv_transpose_matrix(w, input_shape, **kwargs) -> sympy.SparseMatrix:
    r"""The matrix ``T`` of ``x -> conv_transpose(x, w)`` from the scatter definition.

    $$T[(g \tfrac{C_{out}}{G} + o, q), (g \tfrac{C_{in}}{G} + c, i)] =
      \sum_{t\,:\; i s + t d = q + lo} w[g \tfrac{C_{in}}{G} + c, o, t]$$

    `check_adjoint` proves ``T == conv_matrix(...)^T`` for the matching `conv`.

    Equivalent to the Jacobian of ``x -> jconv.conv_transpose(x[None], w)[0]``.

    Args:
        w: ``(C_in, C_out // groups, *kernel)`` (or channels last).
        input_shape: ``(C_in, *spatial)`` (or ``(*spatial, C_in)``), without batch.
        **kwargs: ``stride``, ``padding``, ``output_padding``, ``dilation``, ``groups``,
            ``channels_last``, as for `jconv.conv_transpose`.

    Returns:
        A ``sympy.SparseMatrix`` (output entries x input entries, C-order).

    Raises:
        TypeError, ValueError: the argument errors of `jconv.conv_transpose`.

    Example:
        >>> from jconv.symbolic import symbols
        >>> conv_transpose_matrix(symbols("w", (1, 1, 2)), (1, 2))
        Matrix([
        [w_0_0_0,       0],
        [w_0_0_1, w_0_0_0],
        [      0, w_0_0_1]])
    """
    fn = "jconv.symbolic.conv_transpose_matrix"
    w = as_object_array(w, fn, "w")
    input_shape = shape_arg(fn, "input_shape", input_shape)
    x_shape = (1, *input_shape)
    setup = transpose_setup(fn, x_shape, w.shape, None, kwargs)
    cl = setup["channels_last"]
    _, wf = conv_first(np.empty(x_shape, object), w, cl)
    c_in, c_out_group = wf.shape[:2]
    c_out = c_out_group * setup["groups"]
    sizes, out = setup["sizes"], setup["out"]
    entries: dict = {}
    for q, oc, terms in transpose_terms(setup, c_in, c_out_group):
        row = _layout_index(oc, q, c_out, out, cl)
        for ci, o, t, i in terms:
            col = _layout_index(ci, i, c_in, sizes, cl)
            entries.setdefault((row, col), []).append(wf[(ci, o, *t)])
    return _sparse(c_out * math.prod(out), c_in * math.prod(sizes), entries)


def convolve_matrix(b, a_shape, mode: str = "full") -> sympy.SparseMatrix:
    r"""The matrix ``T`` of ``a -> convolve(a, b, mode)`` (every axis convolved).

    $$T[k, i] = \sum_{j\,:\; i = k - j} b[j]$$

    Toeplitz in 1-D (block Toeplitz with Toeplitz blocks in N-d); for
    ``mode="circular"`` it is circulant (block circulant), ``T[k, i] = b[(k - i) mod n]``.

    Equivalent to ``scipy.linalg.convolution_matrix(b, n, mode)`` in 1-D (for
    ``"full"``, ``"same"``, ``"valid"``).

    Args:
        b: the kernel (SymPy array, nested list or array).
        a_shape: the shape of ``a`` (same rank as ``b``).
        mode: ``"full"``, ``"same"``, ``"valid"`` or ``"circular"``.

    Returns:
        A ``sympy.SparseMatrix`` with ``vec(convolve(a, b, mode)) == T vec(a)``.

    Raises:
        TypeError, ValueError: the argument errors of `jconv.convolve`.

    Example:
        >>> from jconv.symbolic import symbols
        >>> convolve_matrix(symbols("b", (2,)), (3,), "circular")
        Matrix([
        [b_0,   0, b_1],
        [b_1, b_0,   0],
        [  0, b_1, b_0]])
    """
    from .._spec import signal_plan

    fn = "jconv.symbolic.convolve_matrix"
    b = as_object_array(b, fn, "b")
    a_shape = shape_arg(fn, "a_shape", a_shape)
    signal_plan(fn, a_shape, b.shape, mode, None, np.float64)
    pairs = [signal_pairs(n, m, mode, False) for n, m in zip(a_shape, b.shape)]
    out = tuple(len(p) for p in pairs)
    entries: dict = {}
    for k in itertools.product(*(range(o) for o in out)):
        row = ravel_index(k, out)
        for combo in itertools.product(*(pairs[ax][k[ax]] for ax in range(len(k)))):
            i = tuple(c[0] for c in combo)
            j = tuple(c[1] for c in combo)
            entries.setdefault((row, ravel_index(i, a_shape)), []).append(b[j])
    return _sparse(math.prod(out), math.prod(a_shape), entries)


def circulant(c, n: int | None = None) -> sympy.Matrix:
    r"""The circulant matrix of ``c``: ``C[i, j] = c[(i - j) mod n]``.

    $$C\,a = c \circledast a, \qquad C = \sum_k c_k P^k$$

    with ``P`` the cyclic shift (`shift_matrix`). A ``c`` longer than ``n`` is aliased
    (entries whose indices agree modulo ``n`` add).

    Equivalent to ``scipy.linalg.circulant(c)`` (for ``len(c) == n``).

    Args:
        c: a 1-D sequence (SymPy array, list or array).
        n: the size; ``len(c)`` by default.

    Returns:
        An ``n x n`` ``sympy.Matrix``.

    Raises:
        ValueError: ``c`` is not 1-D or empty, or ``n < 1``.

    Example:
        >>> from jconv.symbolic import circulant
        >>> circulant([1, 2, 3])
        Matrix([
        [1, 3, 2],
        [2, 1, 3],
        [3, 2, 1]])
    """
    fn = "jconv.symbolic.circulant"
    c = as_object_array(c, fn, "c")
    if c.ndim != 1 or c.size == 0:
        raise ValueError(f"{fn}: c must be a non-empty 1-D sequence, got shape {c.shape}")
    n = c.size if n is None else int(n)
    if n < 1:
        raise ValueError(f"{fn}: n must be >= 1, got {n}")
    folded = [add([c[m] for m in range(k, c.size, n)]) for k in range(n)]
    return sympy.Matrix(n, n, lambda i, j: folded[(i - j) % n])


def shift_matrix(n: int, k: int = 1) -> sympy.Matrix:
    r"""The cyclic shift ``P^k``: ``(P^k a)[i] = a[(i - k) mod n]``.

    $$P[i, j] = [\,i \equiv j + 1 \pmod n\,]$$

    Equivalent to ``numpy.roll(numpy.eye(n), k, axis=0)``.

    Args:
        n: the size (>= 1).
        k: the shift (any int).

    Returns:
        An ``n x n`` permutation ``sympy.Matrix``.

    Raises:
        ValueError: ``n < 1``.

    Example:
        >>> from jconv.symbolic._matrix import shift_matrix
        >>> shift_matrix(3)
        Matrix([
        [0, 0, 1],
        [1, 0, 0],
        [0, 1, 0]])
    """
    if int(n) < 1:
        raise ValueError(f"jconv.symbolic.shift_matrix: n must be >= 1, got {n}")
    return sympy.Matrix(n, n, lambda i, j: 1 if (i - j - k) % n == 0 else 0)


def dft_matrix(n: int, *, inverse: bool = False) -> sympy.Matrix:
    r"""The DFT matrix ``F[j, k] = exp(-2 pi i j k / n)`` (or its inverse).

    $$F_{jk} = \omega^{jk},\quad \omega = e^{-2\pi i/n}, \qquad F^{-1} = \tfrac1n \overline F$$

    Unnormalised, like ``numpy.fft.fft``: ``F @ a == fft(a)``. (SymPy's own
    ``sympy.matrices.expressions.fourier.DFT`` is the unitary ``F / sqrt(n)``.)

    Equivalent to ``numpy.fft.fft(numpy.eye(n), axis=0)``.

    Args:
        n: the size (>= 1).
        inverse: return ``F^{-1}`` instead.

    Returns:
        An ``n x n`` ``sympy.Matrix`` of exact roots of unity.

    Raises:
        ValueError: ``n < 1``.

    Example:
        >>> from jconv.symbolic import dft_matrix
        >>> dft_matrix(2)
        Matrix([
        [1,  1],
        [1, -1]])
    """
    if int(n) < 1:
        raise ValueError(f"jconv.symbolic.dft_matrix: n must be >= 1, got {n}")
    sign = 1 if inverse else -1
    scale = sympy.Rational(1, n) if inverse else 1
    return sympy.Matrix(
        n, n, lambda j, k: scale * sympy.exp(sign * 2 * sympy.pi * sympy.I * ((j * k) % n) / n)
    )


def _channel_blocks(fn, w, input_shape, conv_kwargs):
    w = as_object_array(w, fn, "w")
    input_shape = shape_arg(fn, "input_shape", input_shape)
    if conv_kwargs.get("channels_last"):
        raise ValueError(
            f"{fn}: channels_last=True is not supported; the channel blocks are defined "
            f"for the channels-first flattening (give the kernel as (C_out, C_in // G, *k))"
        )
    setup = conv_setup(fn, (1, *input_shape), w.shape, None, conv_kwargs)
    return w, input_shape, setup


def conv_block_matrix(w, input_shape, **conv_kwargs) -> BlockMatrix:
    r"""`conv_matrix` as a ``C_out x C_in`` block matrix of single-channel correlations.

    $$M = \begin{pmatrix} M_{11} & \cdots & M_{1 C_{in}} \\ \vdots & & \vdots \\
      M_{C_{out} 1} & \cdots & M_{C_{out} C_{in}} \end{pmatrix}, \qquad
      y_o = \sum_c M_{oc}\, x_c$$

    Block ``(o, c)`` is the (Toeplitz, or circulant with circular padding) matrix of
    the spatial correlation with kernel ``w[o, c_local]`` when input channel ``c`` is in
    the group of ``o``, and a ``ZeroMatrix`` otherwise: the conv layer is a
    matrix-vector product whose entries are convolutions.

    Equivalent to ``conv_matrix(w, input_shape, **conv_kwargs)`` (`block_explicit` gives
    it entry by entry).

    Args:
        w: ``(C_out, C_in // groups, *kernel)`` (channels first only).
        input_shape: ``(C_in, *spatial)``.
        **conv_kwargs: as for `jconv.conv`, without ``channels_last``.

    Returns:
        A ``sympy.BlockMatrix`` with ``C_out x C_in`` blocks of size
        ``prod(out) x prod(spatial)``.

    Raises:
        TypeError, ValueError: the argument errors of `jconv.conv`; ``channels_last``.

    Example:
        >>> from jconv.symbolic import symbols, conv_block_matrix
        >>> B = conv_block_matrix(symbols("w", (2, 1, 2)), (2, 3), groups=2)
        >>> B.blockshape, B.blocks[0, 1]
        ((2, 2), 0)
    """
    fn = "jconv.symbolic.conv_block_matrix"
    w, input_shape, setup = _channel_blocks(fn, w, input_shape, conv_kwargs)
    c_out, c_group = w.shape[:2]
    groups = setup["groups"]
    c_in = c_group * groups
    og = c_out // groups
    kw = {k: v for k, v in conv_kwargs.items() if k != "groups"}
    spatial = input_shape[1:]
    n_out = n_in = None
    blocks = []
    for o in range(c_out):
        row = []
        g = o // og
        for c in range(c_in):
            if c // c_group == g:
                block = conv_matrix(w[o:o + 1, c - g * c_group][:, None], (1, *spatial), **kw)
                n_out, n_in = block.shape
                row.append(sympy.ImmutableMatrix(block))
            else:
                row.append(None)
        blocks.append(row)
    blocks = [[b if b is not None else ZeroMatrix(n_out, n_in) for b in row] for row in blocks]
    return BlockMatrix(blocks)


def group_block_matrix(w, input_shape, **conv_kwargs) -> BlockDiagMatrix:
    r"""`conv_matrix` of a grouped convolution as the block diagonal of its groups.

    $$M = \operatorname{diag}(M^{(1)}, \dots, M^{(G)})$$

    where ``M^(g)`` is the `conv_matrix` of the ungrouped convolution of input channels
    ``g C_in/G ... (g+1) C_in/G - 1`` with kernel rows ``g C_out/G ... (g+1) C_out/G - 1``:
    a grouped convolution is ``G`` independent convolutions, concatenated.

    Equivalent to ``conv_matrix(w, input_shape, groups=G, ...)``.

    Args:
        w: ``(C_out, C_in // groups, *kernel)`` (channels first only).
        input_shape: ``(C_in, *spatial)``.
        **conv_kwargs: as for `jconv.conv` (``groups`` included), without ``channels_last``.

    Returns:
        A ``sympy.BlockDiagMatrix`` of ``G`` blocks.

    Raises:
        TypeError, ValueError: the argument errors of `jconv.conv`; ``channels_last``.

    Example:
        >>> from jconv.symbolic import symbols, group_block_matrix
        >>> group_block_matrix(symbols("w", (4, 1, 3)), (2, 5), groups=2).blockshape
        (2, 2)
    """
    fn = "jconv.symbolic.group_block_matrix"
    w, input_shape, setup = _channel_blocks(fn, w, input_shape, conv_kwargs)
    groups = setup["groups"]
    c_out, c_group = w.shape[:2]
    og = c_out // groups
    kw = {k: v for k, v in conv_kwargs.items() if k != "groups"}
    blocks = [
        sympy.ImmutableMatrix(
            conv_matrix(w[g * og:(g + 1) * og], (c_group, *input_shape[1:]), **kw)
        )
        for g in range(groups)
    ]
    return BlockDiagMatrix(*blocks)


# ---------------------------------------------------------------------------------------
# Seeing the structure: text and image
# ---------------------------------------------------------------------------------------


def block_explicit(B) -> sympy.SparseMatrix:
    r"""A ``BlockMatrix`` / ``BlockDiagMatrix`` assembled into one sparse matrix.

    $$\begin{pmatrix} B_{11} & \cdots \\ \vdots & \ddots \end{pmatrix} \mapsto M$$

    Equivalent to ``B.as_explicit()``, but built from the blocks' nonzero entries
    (SymPy's generic ``as_explicit`` indexes every entry through the block structure,
    which is slow for large matrices).

    Args:
        B: a SymPy ``BlockMatrix`` or ``BlockDiagMatrix`` (other matrices pass through).

    Returns:
        A ``sympy.SparseMatrix``.

    Example:
        >>> from jconv.symbolic import symbols, group_block_matrix
        >>> from jconv.symbolic._matrix import block_explicit
        >>> block_explicit(group_block_matrix(symbols("w", (2, 1, 2)), (2, 3), groups=2)).shape
        (4, 6)
    """
    if isinstance(B, BlockDiagMatrix):
        blocks = [[B.args[i] if i == j else None for j in range(len(B.args))]
                  for i in range(len(B.args))]
    elif isinstance(B, BlockMatrix):
        blocks = [[B.blocks[i, j] for j in range(B.blockshape[1])]
                  for i in range(B.blockshape[0])]
    else:
        return sympy.SparseMatrix(B)
    rows, cols = list(B.rowblocksizes), list(B.colblocksizes)
    data, r0 = {}, 0
    for i, row in enumerate(blocks):
        c0 = 0
        for j, block in enumerate(row):
            if block is not None and not isinstance(block, ZeroMatrix):
                for (r, c), v in sympy.SparseMatrix(block).todok().items():
                    data[(r0 + r, c0 + c)] = v
            c0 += cols[j]
        r0 += rows[i]
    return sympy.SparseMatrix(sum(rows), sum(cols), data)


def _explicit(M, row_blocks, col_blocks):
    if isinstance(M, (BlockMatrix, BlockDiagMatrix)):
        row_blocks = row_blocks or list(M.rowblocksizes)
        col_blocks = col_blocks or list(M.colblocksizes)
        M = block_explicit(M)
    if not isinstance(M, sympy.MatrixBase):
        M = sympy.Matrix(M)
    return M, list(row_blocks or [M.rows]), list(col_blocks or [M.cols])


def _boundaries(sizes):
    edges, total = set(), 0
    for s in sizes[:-1]:
        total += s
        edges.add(total)
    return edges


def render_pattern(
    M,
    *,
    row_blocks=None,
    col_blocks=None,
    entries: bool = False,
    max_width: int = 160,
) -> str:
    r"""The sparsity (or entry) pattern of a matrix as text, with its block structure.

    Each nonzero entry is shown as ``#`` (or, with ``entries=True``, as the expression
    itself, like the written-out matrices of textbooks), each zero as ``.`` (or ``0``);
    ``|`` and ``-`` lines separate blocks. A matrix too wide for ``max_width`` columns
    of text is shown in tiles (a ``#`` for every tile holding a nonzero).

    Equivalent to ``matplotlib.pyplot.spy`` in text.

    Args:
        M: a SymPy ``Matrix``, ``SparseMatrix``, ``BlockMatrix`` or ``BlockDiagMatrix``
            (block sizes are taken from the latter two).
        row_blocks, col_blocks: block sizes (summing to the matrix shape) to draw,
            e.g. ``[prod(out)] * C_out`` and ``[prod(spatial)] * C_in``.
        entries: show the entries instead of ``#``.
        max_width: the widest text line before tiling (pattern mode only).

    Returns:
        A multi-line string.

    Raises:
        ValueError: block sizes that do not sum to the matrix shape.

    Example:
        >>> import sympy
        >>> from jconv.symbolic import conv_matrix, render_pattern
        >>> a, b, c, d, e, f, g, h = sympy.symbols("a:h")
        >>> M = conv_matrix([[[[a, b], [c, d]]], [[[e, f], [g, h]]]], (1, 3, 3))
        >>> print(render_pattern(M, col_blocks=[3, 3, 3], row_blocks=[4, 4], entries=True))
        a b 0 | c d 0 | 0 0 0
        0 a b | 0 c d | 0 0 0
        0 0 0 | a b 0 | c d 0
        0 0 0 | 0 a b | 0 c d
        ------+-------+------
        e f 0 | g h 0 | 0 0 0
        0 e f | 0 g h | 0 0 0
        0 0 0 | e f 0 | g h 0
        0 0 0 | 0 e f | 0 g h
    """
    fn = "jconv.symbolic.render_pattern"
    M, row_blocks, col_blocks = _explicit(M, row_blocks, col_blocks)
    if sum(row_blocks) != M.rows or sum(col_blocks) != M.cols:
        raise ValueError(
            f"{fn}: block sizes {row_blocks} x {col_blocks} do not sum to the matrix "
            f"shape {M.shape}"
        )
    nonzero = {(i, j) for (i, j), v in M.todok().items() if v != 0}
    if entries:
        cells = [[str(M[i, j]) if (i, j) in nonzero else "0" for j in range(M.cols)]
                 for i in range(M.rows)]
        tile = 1
    else:
        tile = max(1, math.ceil(M.cols / max(1, max_width - len(col_blocks))))
        rows, cols = math.ceil(M.rows / tile), math.ceil(M.cols / tile)
        marks = {(i // tile, j // tile) for i, j in nonzero}
        cells = [["#" if (i, j) in marks else "." for j in range(cols)] for i in range(rows)]
    width = max((len(s) for row in cells for s in row), default=1)
    sep = " " if entries else ""
    col_edges = {e // tile for e in _boundaries(col_blocks)}
    row_edges = {e // tile for e in _boundaries(row_blocks)}
    lines = []
    for i, row in enumerate(cells):
        if i in row_edges and i > 0:
            lines.append(None)
        parts, current = [], []
        for j, s in enumerate(row):
            if j in col_edges and j > 0:
                parts.append(sep.join(current))
                current = []
            current.append(s.rjust(width))
        parts.append(sep.join(current))
        lines.append(parts)
    joiner = " | " if entries else "|"
    text_lines = []
    template = next(parts for parts in lines if parts is not None)
    for parts in lines:
        if parts is None:
            if entries:
                text_lines.append("-+-".join("-" * len(p) for p in template))
            else:
                text_lines.append("+".join("-" * len(p) for p in template))
        else:
            text_lines.append(joiner.join(parts))
    return "\n".join(text_lines)


def plot_pattern(
    M,
    path=None,
    *,
    row_blocks=None,
    col_blocks=None,
    title: str | None = None,
    color_by: str = "block",
):
    r"""The sparsity pattern of a matrix as an image (matplotlib), block lines drawn.

    Every nonzero entry is a coloured cell: ``color_by="block"`` colours by the block it
    lies in (so a grouped kernel matrix shows as a block diagonal of channel blocks),
    ``color_by="symbol"`` by the symbol it holds (so weight sharing shows as diagonal
    stripes of one colour). Zeros are white.

    Equivalent to ``matplotlib.pyplot.spy`` with colours and block grid lines.

    Args:
        M: a SymPy matrix, ``BlockMatrix`` or ``BlockDiagMatrix``.
        path: where to save a PNG (optional).
        row_blocks, col_blocks: block sizes to draw, as for `render_pattern`.
        title: the title of the plot.
        color_by: ``"block"`` or ``"symbol"``.

    Returns:
        The ``matplotlib.figure.Figure``.

    Raises:
        ImportError: matplotlib is not installed.
        ValueError: an unknown ``color_by`` or block sizes that do not fit.

    Example:
        >>> from jconv.symbolic import symbols, conv_block_matrix, plot_pattern
        >>> fig = plot_pattern(conv_block_matrix(symbols("w", (4, 1, 3, 3)), (4, 5, 5),
        ...                                      groups=4))
        >>> fig.axes[0].get_title()
        ''
    """
    fn = "jconv.symbolic.plot_pattern"
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.colors import ListedColormap
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ImportError(f"{fn} needs matplotlib (pip install matplotlib)") from e
    if color_by not in ("block", "symbol"):
        raise ValueError(f"{fn}: color_by must be 'block' or 'symbol', got {color_by!r}")
    M, row_blocks, col_blocks = _explicit(M, row_blocks, col_blocks)
    if sum(row_blocks) != M.rows or sum(col_blocks) != M.cols:
        raise ValueError(
            f"{fn}: block sizes {row_blocks} x {col_blocks} do not sum to the matrix "
            f"shape {M.shape}"
        )
    row_of = np.repeat(np.arange(len(row_blocks)), row_blocks)
    col_of = np.repeat(np.arange(len(col_blocks)), col_blocks)
    image = np.zeros(M.shape)
    labels: dict = {}
    for (i, j), v in M.todok().items():
        if v == 0:
            continue
        if color_by == "block":
            key = (int(row_of[i]), int(col_of[j]))
        else:
            key = str(v)
        image[i, j] = labels.setdefault(key, len(labels) + 1)
    n_colors = max(len(labels), 1)
    base = [
        "#4477aa", "#ee6677", "#228833", "#ccbb44", "#66ccee", "#aa3377", "#bbbbbb",
        "#332288", "#117733", "#999933", "#cc6677", "#882255",
    ]
    colors = ["#ffffff"] + [base[k % len(base)] for k in range(n_colors)]
    fig = Figure(figsize=(min(12, 2 + M.cols / 12), min(12, 2 + M.rows / 12)))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.imshow(image, cmap=ListedColormap(colors), vmin=0, vmax=n_colors,
              interpolation="nearest", aspect="equal")
    for e in _boundaries(row_blocks):
        ax.axhline(e - 0.5, color="black", linewidth=0.8)
    for e in _boundaries(col_blocks):
        ax.axvline(e - 0.5, color="black", linewidth=0.8)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel(f"{M.cols} input entries")
    ax.set_ylabel(f"{M.rows} output entries")
    if title:
        ax.set_title(title)
    if path is not None:
        fig.savefig(path, dpi=100, bbox_inches="tight")
    return fig
