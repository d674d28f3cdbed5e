r"""``winograd``: minimal filtering F(m, r), nested over the spatial dims, as batched GEMMs.

For a stride-1, undilated spec, per spatial dim the output is cut into ``T`` tiles of
``m`` samples and the kernel into ``C`` chunks of ``r`` taps (``C = 1`` for a small
kernel; ``C > 1`` lets the kernel gradient, whose "kernel" is the large output
cotangent and whose output is small, use the same machinery). Tile ``i`` and chunk
``c`` meet on the input tile of ``alpha = m + r - 1`` samples starting at
``i m + c r``, and

    y[i m + k] = sum_c  A^T [ (G w_c) (.) (B^T d_{i,c}) ]_k ,

with ``A^T, G, B^T`` the exact Cook-Toom transforms of `cook_toom` (built on first
use; `jconv.symbolic.winograd` proves these very matrices). Nested over the dims, the elementwise products
of all tiles become, for each of the ``prod(alpha)`` transform points, one matrix
product contracting the input channels and the kernel chunks:

    M[g, xi] (N T x Co) = V[g, xi] (N T x Ci C)  @  U[g, xi] (Ci C x Co),

the whole multiplication work in one batched GEMM. Per dim the table entry is chosen
to minimise ``alpha T C`` (the transform points times tiles times chunks), among tiles
with ``alpha <= 6`` for 32-bit dtypes and ``alpha <= 8`` for 64-bit ones.

Accuracy: the transforms of larger tiles have larger entries (points ``+-2``,
``+-1/2``), which amplifies rounding. Measured relative Frobenius error against a
float64 reference on standard-normal data, 2-D, 64 channels, float32: ``2.7e-7`` for
F(2, 3) (XLA's own float32 convolution: ``3.8e-7``), ``1.7e-6`` for F(4, 3), F(3, 4)
and F(2, 5) (alpha 6), ``3.1e-6`` to ``3.4e-6`` for alpha 8 (F(6, 3), F(4, 5)); so
32-bit dtypes stop at alpha 6 and 64-bit ones, whose error stays below ``1e-14``, at
alpha 8. Integer dtypes are refused: the transforms have fractional entries and
integer convolution must be exact.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from .._spec import ConvSpec
from . import Algorithm, Form
from ._common import (
    compute_itemsize,
    effective_kernel,
    forward_shaped,
    largest_divisor,
    map_chunks,
    relayout_bytes,
    sum_chunks,
)

# The largest tile (alpha = m + r - 1) per dimensionality: larger tiles save more
# products but round more, and the rounding compounds over the dims. These keep the
# normwise error of every pass within 4x XLA's on standard-normal data (measured per tile
# and pass; the accuracy notes list the ratios).
MAX_ALPHA_32 = 6
"""1-D, float32 (and float16/bfloat16, computed in float32) and complex64."""
MAX_ALPHA_64 = 8
"""1-D, float64 and complex128."""
MAX_ALPHA_1D_KERNEL_GRAD_32 = 4
"""1-D kernel gradients (long "kernels") in 32-bit dtypes."""
MAX_ALPHA_2D = 5
"""2-D, every dtype (F(3, 3) for 3x3 kernels)."""
MAX_ALPHA_3D = 4
"""3-D and more, every dtype (F(2, 3))."""
# The raw cost model's rates are machine constants of the calibration (set by hand from
# measurements on a 2-core CPU; the calibration fits the scale of the whole estimate):
# ``winograd_transform_flops``, the fused tile transforms (sums of scaled slices);
# ``winograd_gemm_flops``, the GEMMs, one per transform point, which XLA runs as one
# batched product (its rate, which stays near that with few channels per group);
# ``winograd_cache_speedup``, how much faster the tiles stream when a chunk fits in cache.
# The rates and their fit are in the benchmarks' notes.


# Cook-Toom. The product s = h g of polynomials with m and r coefficients has
# alpha = m + r - 1 coefficients, fixed by its values at alpha - 1 finite points p_k and
# at infinity (its leading coefficient). With V_n the alpha x n evaluation matrix (rows
# [1, p_k, ..., p_k^(n-1)], and [0, ..., 0, 1] for infinity),
#     s = V_alpha^-1 [(V_m h) * (V_r g)].
# The correlation y_i = sum_k d_k ds_k/dh_i is the transpose of this map in h, so
#     A^T = V_m^T,   G = V_r,   B^T = V_alpha^-T,
# and then row k of B^T is scaled to a primitive integer vector and row k of G by the
# inverse scale (the product is unchanged): the data transform, applied to every tile,
# keeps small integer entries, and the fractions sit in the kernel transform.
POINTS = (0, 1, -1, 2, -2, Fraction(1, 2), Fraction(-1, 2))
"""The finite interpolation points, used in this order (small magnitudes and reciprocal
pairs first, the usual well-conditioned choice); infinity is always the last point."""
MAX_TILE = len(POINTS) + 1
"""The largest tile ``alpha = m + r - 1`` with transforms (8)."""
ENTRIES = tuple((m, r) for m in range(1, MAX_TILE + 1) for r in range(1, MAX_TILE + 2 - m))
"""Every ``(m, r)`` with ``m, r >= 1`` and ``m + r - 1 <= MAX_TILE``, in planning order."""

Rational = tuple[tuple[Fraction, ...], ...]


def _evaluation(points: tuple, n: int) -> list[list[Fraction]]:
    """``V_n``: ``[p^0 .. p^(n-1)]`` per finite point, then ``[0 .. 0 1]`` (infinity)."""
    return [[Fraction(p) ** j for j in range(n)] for p in points] + [[Fraction(0)] * (n - 1)
                                                                     + [Fraction(1)]]


def _inverse(a: list[list[Fraction]]) -> list[list[Fraction]]:
    """The exact inverse of a nonsingular square matrix (Gauss-Jordan)."""
    n = len(a)
    aug = [list(row) + [Fraction(int(i == j)) for j in range(n)] for i, row in enumerate(a)]
    for c in range(n):
        p = next(i for i in range(c, n) if aug[i][c] != 0)
        aug[c], aug[p] = aug[p], aug[c]
        aug[c] = [v / aug[c][c] for v in aug[c]]
        for i in range(n):
            if i != c and aug[i][c] != 0:
                aug[i] = [v - aug[i][c] * u for v, u in zip(aug[i], aug[c])]
    return [row[n:] for row in aug]


@functools.cache
def cook_toom(m: int, r: int) -> tuple[Rational, Rational, Rational]:
    """The exact transforms ``(AT, G, BT)`` of ``F(m, r)``, row-major tuples of Fractions:
    ``y = AT [(G g) * (BT d)]`` is ``y[i] = sum_j d[i + j] g[j]``, ``i < m``."""
    if (m, r) not in ENTRIES:
        raise ValueError(f"cook_toom: F({m}, {r}) needs m, r >= 1 and m + r - 1 <= {MAX_TILE}")
    points = POINTS[:m + r - 2]
    at = [list(col) for col in zip(*_evaluation(points, m))]
    g = _evaluation(points, r)
    bt = [list(col) for col in zip(*_inverse(_evaluation(points, m + r - 1)))]
    for k, row in enumerate(bt):
        scale = Fraction(math.lcm(*(v.denominator for v in row)),
                         math.gcd(*(v.numerator for v in row)))
        bt[k] = [v * scale for v in row]
        g[k] = [v / scale for v in g[k]]
    return tuple(tuple(tuple(row) for row in mat) for mat in (at, g, bt))


@functools.cache
def float_transforms(m: int, r: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(AT, G, BT) of F(m, r) as float64 arrays (each entry the rational, rounded once)."""
    return tuple(np.array([[float(v) for v in row] for row in mat]) for mat in cook_toom(m, r))


class _Dim(tuple):
    """One spatial dim of the plan: ``(m, r, T, C)``; ``alpha = m + r - 1``."""

    @property
    def m(self) -> int:
        return self[0]

    @property
    def r(self) -> int:
        return self[1]

    @property
    def T(self) -> int:
        return self[2]

    @property
    def C(self) -> int:
        return self[3]

    @property
    def alpha(self) -> int:
        return self[0] + self[1] - 1


def _max_alpha(spec: ConvSpec) -> int:
    """The largest tile for ``spec`` (see `MAX_ALPHA_32` and the others)."""
    if spec.ndim >= 3:
        return MAX_ALPHA_3D
    if spec.ndim == 2:
        return MAX_ALPHA_2D
    if spec.dtype in ("float64", "complex128"):
        return MAX_ALPHA_64
    return MAX_ALPHA_32 if forward_shaped(spec) else MAX_ALPHA_1D_KERNEL_GRAD_32


def _choose_dim(O: int, K: int, max_alpha: int) -> _Dim | None:
    """The table entry minimising ``alpha T C`` (ties: smaller alpha, then fewer tiles).

    Only plans with one kernel chunk (``C = 1``: the kernel fits a tile) or one output
    tile (``T = 1``: the kernel gradient's small output) qualify: with both ``T > 1``
    and ``C > 1`` every input sample would be transformed ``T C alpha / (m r)`` times,
    and an FFT or a direct method is faster. None when nothing qualifies.
    """
    best = None
    for (m, r) in ENTRIES:
        alpha = m + r - 1
        T, C = -(-O // m), -(-K // r)
        if alpha > max_alpha or (T > 1 and C > 1):
            continue
        key = (alpha * T * C, alpha, T)
        if best is None or key < best[0]:
            best = (key, _Dim((m, r, T, C)))
    return None if best is None else best[1]


@functools.lru_cache(maxsize=512)
def _plan(spec: ConvSpec) -> tuple[_Dim, ...]:
    amax = _max_alpha(spec)
    return tuple(_choose_dim(o, k, amax) for o, k in zip(spec.out_size, spec.kernel_size))


def _refusal(spec: ConvSpec) -> str | None:
    if not jax.dtypes.issubdtype(spec.dtype, np.inexact):
        return (
            f"integer convolution must be exact; Winograd's transforms have fractional "
            f"entries (dtype {spec.dtype})"
        )
    for name, value in (("stride", spec.stride), ("kernel dilation", spec.rhs_dilation),
                        ("input dilation", spec.lhs_dilation)):
        if any(v != 1 for v in value):
            return f"minimal filtering needs unit stride and no dilation; got {name} {value}"
    for i, (d, o, k) in enumerate(zip(_plan(spec), spec.out_size, spec.kernel_size)):
        if d is None:
            return (
                f"in spatial dim {i} both the kernel ({k} taps) and the output ({o}) are "
                f"longer than a tile (alpha <= {_max_alpha(spec)} for a {spec.ndim}-D {spec.dtype} pass) covers; "
                f"Winograd serves small kernels (and the small outputs of kernel gradients)"
            )
    products = math.prod(d.alpha * d.T * d.C for d in _plan(spec))
    if products >= math.prod(o * k for o, k in zip(spec.out_size, spec.kernel_size)):
        return (
            f"minimal filtering saves no multiplications here (kernel {spec.kernel_size}, "
            f"output {spec.out_size}): a one-tap kernel or a one-sample output"
        )
    return None


def _nnz(mat) -> float:
    """Mean number of nonzero entries per row (the terms of one transformed value)."""
    return float(np.count_nonzero(mat)) / mat.shape[0]


def _estimate(spec: ConvSpec, c) -> tuple[float, int]:
    """Raw seconds and workspace of the tiled computation (``c``: machine constants).

    The model (documented for calibration): with ``A = prod alpha``, ``TT = prod T``,
    ``CC = prod C``, ``b`` bytes per element, and ``V = N G Ci A TT CC`` input tiles,
    ``U = G Co Ci A CC`` kernel tiles, ``M = N G Co A TT`` products,

    * GEMM: ``2 G A (N TT) (Ci CC) Co`` flops at ``winograd_gemm_flops`` (a batched product's
      rate); 64-bit dtypes at half the rate, complex ones four times the work;
    * transforms: one multiply-add per nonzero of ``B^T`` (``G``, ``A^T``) per value
      produced, at ``winograd_transform_flops``;
    * memory: x and y transposed once each at ``stream_bytes``; the tiles ``V``, ``U``,
      ``M`` written and read once, at ``winograd_cache_speedup`` times that rate when a chunk
      fits in `CHUNK_BYTES` (see `_chunking`);
    * ``10 launch_seconds`` per chunk;
    * a kernel gradient's partial products (`_blocks`), written and read once.

    The workspace is the bytes of ``V``, ``U`` and ``M`` (with its partial products) of
    one chunk, for each of the `WAYS` chunks computed at once, plus the re-laid operands.
    (Each stage is materialised, but XLA reuses the buffers of the stages before: over 18
    passes of 2-D and 3-D layers the allocation was 0.23-0.59 of twice the tiles, and at
    most the tiles.)
    """
    dims = _plan(spec)
    n, g, ci, co = spec.batch, spec.groups, spec.in_channels, spec.out_channels
    A = math.prod(d.alpha for d in dims)
    TT = math.prod(d.T for d in dims)
    CC = math.prod(d.C for d in dims)
    b = compute_itemsize(spec)
    wide = 2.0 if spec.dtype in ("float64", "complex128") else 1.0
    if spec.dtype.startswith("complex"):
        wide *= 4.0  # a complex multiply-add is four real ones
    v, u, mt = n * g * ci * A * TT * CC, g * co * ci * A * CC, n * g * co * A * TT
    gemm = wide * 2 * g * A * (n * TT) * ci * CC * co / c["winograd_gemm_flops"]
    mats = [float_transforms(d.m, d.r) for d in dims]
    ops = (
        v * sum(_nnz(bt) for _, _, bt in mats)
        + u * sum(_nnz(gm) for _, gm, _ in mats)
        + mt * sum(_nnz(at) * d.m / d.alpha for (at, _, _), d in zip(mats, dims))
    )
    transform = wide * 2 * ops / c["winograd_transform_flops"]
    chunks = _chunk_count(spec)
    tiles_bytes = b * (v + u + mt)
    speed = c["winograd_cache_speedup"] if tiles_bytes / chunks <= 2 * CHUNK_BYTES else 1.0
    io_bytes = b * (math.prod(spec.x_shape) + math.prod(spec.y_shape))
    kind, size = _chunking(spec)
    # every chunk of contracted channels makes all of M, one of the batch its share
    per_chunk = b * mt / (1 if kind == "channels" else chunks)
    partial = per_chunk * (_blocks(spec, CC * (size if kind == "channels" else ci)) - 1)
    memory = (2 * tiles_bytes / speed + 2 * io_bytes + 2 * partial * chunks) / c["stream_bytes"]
    seconds = gemm + transform + memory + 10 * chunks * c["launch_seconds"]
    # one chunk at a time, with its tiles and their staged copies
    return seconds, int(WAYS * (tiles_bytes / chunks + partial)) + relayout_bytes(spec)


# ---------------------------------------------------------------------------------------
# Transforms along one axis: explicit sums of scaled slices (XLA fuses them)
# ---------------------------------------------------------------------------------------


def _combine(parts, coeffs):
    """``sum_j coeffs[j] parts[j]``, skipping zeros and unit factors."""
    acc = None
    for c, p in zip(coeffs, parts):
        if c == 0:
            continue
        term = p if c == 1 else (-p if c == -1 else p * float(c))  # weakly typed
        acc = term if acc is None else acc + term
    if acc is None:
        return jnp.zeros_like(parts[0])
    return acc


def _input_tiles(a, axis: int, d: _Dim, out_axis: int):
    """Axis of length ``T m + C r - 1`` -> (T, C) in place and ``alpha`` at ``out_axis``.

    Entry ``[k, i, c]`` is ``(B^T d_{i,c})_k`` for the tile ``d_{i,c}`` starting at
    ``i m + c r``.
    """
    _, _, bt = float_transforms(d.m, d.r)
    slices = []  # slices[j]: (..., T, C, ...) = a[i m + c r + j]
    for j in range(d.alpha):
        if d.T >= d.C:
            per_c = [
                lax.slice_in_dim(a, c * d.r + j, c * d.r + j + (d.T - 1) * d.m + 1, d.m, axis)
                for c in range(d.C)
            ]
            slices.append(jnp.stack(per_c, axis + 1))
        else:
            per_i = [
                lax.slice_in_dim(a, i * d.m + j, i * d.m + j + (d.C - 1) * d.r + 1, d.r, axis)
                for i in range(d.T)
            ]
            slices.append(jnp.stack(per_i, axis))
    return jnp.stack([_combine(slices, bt[k]) for k in range(d.alpha)], out_axis)


def _kernel_tiles(w, axis: int, d: _Dim, out_axis: int):
    """Axis of length ``K`` -> ``C`` in place and ``alpha`` at ``out_axis``: ``G w_c``."""
    _, g, _ = float_transforms(d.m, d.r)
    k = w.shape[axis]
    pad = [(0, 0, 0)] * w.ndim
    pad[axis] = (0, d.C * d.r - k, 0)
    w = lax.pad(w, jnp.zeros((), w.dtype), pad)
    w = w.reshape(*w.shape[:axis], d.C, d.r, *w.shape[axis + 1:])
    taps = [lax.index_in_dim(w, t, axis + 1, keepdims=False) for t in range(d.r)]
    return jnp.stack([_combine(taps, g[x]) for x in range(d.alpha)], out_axis)


def _output_tiles(mt, axis: int, d: _Dim):
    """Axis ``alpha`` -> ``m``: ``A^T`` of every tile (the tiles' axis is elsewhere)."""
    at, _, _ = float_transforms(d.m, d.r)
    pts = [lax.index_in_dim(mt, x, axis, keepdims=False) for x in range(d.alpha)]
    return jnp.stack([_combine(pts, at[k]) for k in range(d.m)], axis)


# ---------------------------------------------------------------------------------------
# The algorithm
# ---------------------------------------------------------------------------------------


CHUNK_BYTES = 4 * 2**20
"""Work is cut into chunks whose transformed tiles take about this many bytes, so that
each chunk's transforms, GEMM and inverse transforms run in cache (measured: 2.4x
faster than one pass over the whole batch for a 16 x 64 x 56 x 56 input)."""

ROWS_MIN = 256
"""... but every chunk's GEMMs keep at least this many rows (tiles times batch), which
keeps them efficient and amortises reading a large kernel transform once per chunk."""

DEPTH_MIN = 256
"""... and a small kernel's chunks of input channels (small images, many channels) hold
at least this many channels, so that their GEMMs contract enough values: 8 x 256 x 14 x
14, 256 -> 256 channels, 3x3, took 11 ms in chunks of 64 channels and 7 ms in one of 256
(8 x 512 x 7 x 7: 26 ms in chunks of 32, 16 ms in chunks of 256). The kernel gradient's
chunks, whose kernel is the large cotangent, contract many kernel chunks already."""

WAYS = 1
"""Chunks computed side by side. Each chunk already fills `CHUNK_BYTES`, and more chunks
at once multiply the scratch, which costs time: an executable's scratch is one block,
mapped afresh on every call once it is larger than the allocator keeps for reuse
(``alloc_reuse_bytes``), and a layer's forward pass and both gradients share one
executable. Measured (forward+backward, the cotangent an argument), two chunks side by
side against one: a 3-D 3x3x3 layer, 32 channels, 2 x 16 x 32 x 32, 65 vs 36 MiB of
scratch (66 vs 35 ms); a 2-D 3x3 layer, 64 channels, 8 x 56 x 56, 35 vs 32 MiB, pages
faulted per call 35 vs 5 MiB (61 vs 52 ms); forward passes alone within noise."""

_BARRIERS = True
"""Materialise every stage (`lax.optimization_barrier`): XLA otherwise fuses layout
changes into the tile gathers, which turns contiguous copies into strided ones."""


def _stage(a):
    return lax.optimization_barrier(a) if _BARRIERS else a


CHAIN = 128
"""A kernel gradient's contraction is cut into blocks of about this many terms (at most
`MAX_BLOCKS` of them) whose partial products are added at the end. A kernel gradient
contracts the batch and every tile, and XLA's CPU matrix product rounds such a long
float32 sum much as one chain would: 432 terms for 2 x 8 x 12^3 -> 8 channels, 3x3x3,
measured 4.7x the error of XLA's convolution in one product, 2.5x in four blocks, 0.8x
with the product in float64."""
MAX_BLOCKS = 4
"""Every block is one more small matrix product per transform point: more blocks round
less but run slower (2 x 16 x 8 x 24 x 24 -> 16 channels, 3x3x3, 1152 terms: nine
blocks took 2.0x the time of one chain, four 1.5x; on 2-D and larger 3-D kernel
gradients four blocks took 0.86-1.07x)."""


def _blocks(spec: ConvSpec, k: int) -> int:
    """Blocks of a contraction of ``k`` terms: more than one for a kernel gradient only."""
    return 1 if forward_shaped(spec) else min(-(-k // CHAIN), MAX_BLOCKS)


def _contract(v, u, spec: ConvSpec, precision):
    """``v @ u`` (``(..., M, K) @ (..., K, N)``), in `_blocks` (``K`` zero-padded to whole
    blocks) summed at the end."""
    k = v.shape[-1]
    blocks = _blocks(spec, k)
    if blocks == 1:
        return jnp.matmul(v, u, precision=precision)
    length = -(-k // blocks)
    if blocks * length > k:
        v = jnp.pad(v, [(0, 0)] * (v.ndim - 1) + [(0, blocks * length - k)])
        u = jnp.pad(u, [(0, 0)] * (u.ndim - 2) + [(0, blocks * length - k), (0, 0)])
    vb = jnp.moveaxis(v.reshape(*v.shape[:-1], blocks, length), -2, -3)  # (.., B, M, L)
    ub = u.reshape(*u.shape[:-2], blocks, length, u.shape[-1])  # (.., B, L, N)
    return jnp.sum(jnp.matmul(vb, ub, precision=precision), axis=-3)


def _tiles(x, w, spec: ConvSpec, dims, precision):
    """The whole computation for one chunk; ``dims`` fixes the tiles of every dim.

    ``x (N, G, Ci, *S)`` is first made ``(G, N, *S, Ci)`` (for channels-last callers the
    two transposes cancel); the input transform yields ``V (G, *alpha, N, [T, C] per
    dim, Ci)``, the kernel transform ``U (G, *alpha, *C, Ci, Co)``, the GEMM
    ``M (G, *alpha, N, *T, Co)``, and the output transform works on the leading
    ``alpha`` axes before one final transpose to ``(N, G, Co, *O)``.
    """
    nd = spec.ndim
    n, g, ci, co = spec.batch, spec.groups, spec.in_channels, spec.out_channels
    A = math.prod(d.alpha for d in dims)
    TT = math.prod(d.T for d in dims)
    CC = math.prod(d.C for d in dims)
    # input: (N, G, Ci, *S) -> (G, N, *S, Ci), padded (and cropped) to T m + C r - 1
    v = jnp.transpose(x, (1, 0, *range(3, 3 + nd), 2))
    cfg = [(0, 0, 0)] * 2 + [
        (lo, hi + (d.T * d.m + d.C * d.r - 1) - e, 0)
        for (lo, hi), d, e in zip(spec.padding, dims, spec.padded_size)
    ] + [(0, 0, 0)]
    v = _stage(lax.pad(v, jnp.zeros((), v.dtype), cfg))
    for i, d in enumerate(dims):  # (G, a_0.., N, T_0, C_0, .., E_i, .., Ci)
        v = _stage(_input_tiles(v, 2 + 3 * i, d, 1 + i))
    # (G, *alpha, N, T_0, C_0, T_1, C_1, .., Ci) -> (G, A, N *T, *C Ci)
    if TT > 1 and CC > 1:
        perm = (0, *range(1, 2 + nd), *(2 + nd + 2 * i for i in range(nd)),
                *(3 + nd + 2 * i for i in range(nd)), 2 + 3 * nd)
        v = _stage(jnp.transpose(v, perm))
    v = v.reshape(g, A, n * TT, CC * ci)
    # kernel: (G, Co, Ci, *K) -> (G, *K, Ci, Co) -> (G, *alpha, *C, Ci, Co)
    u = jnp.transpose(effective_kernel(w, spec), (0, *range(3, 3 + nd), 2, 1))
    for i, d in enumerate(dims):
        u = _kernel_tiles(u, 1 + 2 * i, d, 1 + i)
    u = _stage(u.reshape(g, A, CC * ci, co))
    if CC * ci == 1:
        mt = v * u  # (G, A, N TT, 1) * (G, A, 1, Co): an outer product
    else:
        mt = _contract(v, u, spec, precision)  # (G, A, N TT, Co)
    mt = _stage(mt).reshape(g, *(d.alpha for d in dims), n, *(d.T for d in dims), co)
    for i, d in enumerate(dims):
        mt = _stage(_output_tiles(mt, 1 + i, d))
    # (G, *m, N, *T, Co) -> (N, G, Co, T_0, m_0, T_1, m_1, ..)
    perm = (1 + nd, 0, 2 + 2 * nd, *(a for i in range(nd) for a in (2 + nd + i, 1 + i)))
    y = jnp.transpose(mt, perm).reshape(n, g, co, *(d.T * d.m for d in dims))
    if tuple(y.shape) != spec.y_shape:
        y = lax.slice(y, (0,) * y.ndim, spec.y_shape)
    return y


def _smallest_divisor(n: int, least: int) -> int:
    """The smallest divisor of ``n`` that is at least ``least`` (``n`` if none is)."""
    return min((k for k in range(least, n + 1) if n % k == 0), default=n)


@functools.lru_cache(maxsize=512)
def _chunking(spec: ConvSpec) -> tuple[str, int]:
    """How to cut the work: ``("batch", nb)``, ``("channels", kc)`` or ``("rows", tr)``.

    The tile bytes per batch element and per input channel decide: a small kernel
    transform (the forward pass and the input gradient) is cut along the batch, and
    further into groups of tile rows when one batch element is too large; a large one
    (the kernel gradient, whose "kernel" is the output cotangent, or a small kernel with
    many channels over small images) along the contracted input channels, accumulating
    the partial results.
    """
    dims = _plan(spec)
    n, g, ci, co = spec.batch, spec.groups, spec.in_channels, spec.out_channels
    b = compute_itemsize(spec)
    A = math.prod(d.alpha for d in dims)
    TT = math.prod(d.T for d in dims)
    CC = math.prod(d.C for d in dims)
    v = b * g * A * n * TT * CC * ci
    u = b * g * A * CC * ci * co
    mt = b * g * A * n * TT * co
    if v + u + mt <= CHUNK_BYTES:
        return ("batch", n)
    if 2 * u > v + mt and ci > 1:  # the kernel tiles weigh as much: a kernel gradient,
        # or a small kernel over small images with many channels
        per = (v + u) / ci
        kc = largest_divisor(ci, CHUNK_BYTES / per)
        if CC == 1 and kc < min(DEPTH_MIN, ci):  # a small kernel, many channels
            kc = _smallest_divisor(ci, DEPTH_MIN)
        return ("channels", kc)
    per_n = (v + mt) / n
    nb = largest_divisor(n, CHUNK_BYTES / per_n)
    need = -(-ROWS_MIN // TT)  # batch elements for GEMMs of at least ROWS_MIN rows
    if nb < need:
        nb = _smallest_divisor(n, need)
    if nb == 1 and per_n > 2 * CHUNK_BYTES and dims[0].T > 1 and dims[0].C == 1:
        row_tiles = TT // dims[0].T  # GEMM rows per row of tiles
        tr = max(int(CHUNK_BYTES / (per_n / dims[0].T)), -(-ROWS_MIN // row_tiles), 1)
        if tr < dims[0].T:
            return ("rows", tr)
    return ("batch", nb)


def _chunk_count(spec: ConvSpec) -> float:
    """How many chunks `_chunking` cuts the work into."""
    kind, size = _chunking(spec)
    if kind == "batch":
        return spec.batch / size
    if kind == "channels":
        return spec.in_channels / size
    return -(-_plan(spec)[0].T // size)


def _run_rows(x, w, spec: ConvSpec, dims, tr: int, precision):
    """Cut the first spatial dim into groups of ``tr`` output tiles (with their halo)."""
    d0 = dims[0]
    k = -(-d0.T // tr)  # number of row groups
    rows = tr * d0.m
    span = rows + d0.r - 1  # input rows per group (d0.C == 1)
    total = (k - 1) * rows + span
    nd = spec.ndim
    lo, hi = spec.padding[0]
    cfg = [(0, 0, 0)] * 3 + [(lo, hi + total - spec.padded_size[0], 0)] + [(0, 0, 0)] * (nd - 1)
    xe = lax.pad(x, jnp.zeros((), x.dtype), cfg)
    sub = dataclasses.replace(
        spec, in_size=(span, *spec.in_size[1:]), padding=((0, 0), *spec.padding[1:])
    )
    sub_dims = (_Dim((d0.m, d0.r, tr, 1)), *dims[1:])

    def group(i):
        xi = lax.dynamic_slice_in_dim(xe, i * rows, span, axis=3)
        return _tiles(xi, w, sub, sub_dims, precision)  # (N, G, Co, rows, ...)

    ys = map_chunks(group, jnp.arange(k), WAYS, out_axis=3)  # (N, G, Co, k rows, ...)
    return lax.slice(ys, (0,) * ys.ndim, spec.y_shape)


def run(x, w, spec: ConvSpec, precision=None):
    dims = _plan(spec)
    kind, size = _chunking(spec)
    n, g, ci = spec.batch, spec.groups, spec.in_channels
    if kind == "rows":
        y = _run_rows(x, w, spec, dims, size, precision)
    elif kind == "channels" and size < ci:
        sub = dataclasses.replace(spec, in_channels=size)
        parts = ci // size
        xs = x.reshape(n, g, parts, size, *spec.in_size)
        ws = w.reshape(g, spec.out_channels, parts, size, *spec.kernel_size)
        y = sum_chunks(lambda xw: _tiles(xw[0], xw[1], sub, dims, precision), (xs, ws),
                       jnp.zeros(spec.y_shape, x.dtype), WAYS, axis=2)
    elif kind == "batch" and size < n:
        sub = dataclasses.replace(spec, batch=size)
        xs = x.reshape(n // size, size, *x.shape[1:])
        y = map_chunks(lambda xc: _tiles(xc, w, sub, dims, precision), xs, WAYS)
    else:
        y = _tiles(x, w, spec, dims, precision)
    return y.astype(x.dtype)


def plan(spec: ConvSpec, ctx):
    """One form (``winograd``) with its tiles, or why the spec is out of reach."""
    reason = _refusal(spec)
    if reason:
        return reason
    seconds, workspace = _estimate(spec, ctx.constants)
    tiles = " x ".join(f"F({d.m},{d.r})" for d in _plan(spec))
    return (Form("winograd", seconds, workspace, lambda x, w, p: run(x, w, spec, p), tiles),)


ALGORITHM = Algorithm(
    "winograd",
    "Winograd/Cook-Toom minimal filtering F(m, r) per dim, products as batched GEMMs",
    ("winograd",),
    plan,
)
