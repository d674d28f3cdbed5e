r"""``fft``: the convolution theorem, with polyphase stride and dilation, and blocking.

Every canonical spec is first rewritten, exactly, as a *plain* correlation (stride 1,
no dilation of either operand), then computed with FFTs.

**Polyphase rewrite** (per spatial dim; the dims are independent). The canonical sum is

    y[p] = sum_{t, i} w[t] x[i] [p s + t d - lo = i ld],

with stride ``s``, kernel dilation ``d``, input (lhs) dilation ``ld`` and low padding
``lo``. Let ``g = gcd(s, ld)``, ``P = ld / g`` output phases and ``R = s / g`` input
phases. Writing ``p = q P + a`` (``0 <= a < P``), a tap ``t`` reaches an input sample
only when ``a s + t d - lo`` is a multiple of ``ld``, at ``i = q R + m`` with
``m = (a s + t d - lo) / ld``; writing ``m = v R + b`` (``0 <= b < R``) and
``x_b[j] = x[j R + b]``,

    y[q P + a] = sum_b sum_v x_b[q + v] W[a, b, v],
    W[a, b, v] = w[t]  for the (at most one) t with a s + t d - lo = ld (v R + b).

This is a stride-1 correlation in which the input phases ``b`` are extra input channels
and the output phases ``a`` extra output channels: stride becomes space-to-depth,
kernel dilation becomes zeros inserted in ``W`` (when ``s = ld = 1``), and input
dilation (the input gradient of a strided convolution) becomes ``P`` short kernels,
without ever forming the zero-stuffed input. Padding (negative too) is the offset of
``v``; a flipped kernel is folded into the same gather.

**Plain correlation by FFT**: ``y[q] = sum_u xp[q + u] W[u]`` is the convolution of
``xp`` with the reversed kernel read at ``q + U - 1``; a circular convolution of length
``L >= len(xp)`` computes it exactly, because the wrapped-around terms land only on the
first ``U - 1`` outputs, which are discarded. Channels (and groups) are contracted in
the frequency domain: one einsum over the input channels of each group, batched over
the frequencies. Real dtypes use ``rfftn``/``irfftn``, complex ones ``fftn``/``ifftn``.

**Blocking** (overlap-save): along a long axis the input is cut into overlapping frames
of a fast length ``B`` (hop ``H = B - U + 1 >= U - 1``), each frame is transformed on its
own and yields ``H`` outputs, so a long signal needs no giant transform. ``B`` is chosen
per axis by the cost model below.

Accuracy: in float64 the relative error is about 1e-13 to 1e-11. In float32 (and
float16/bfloat16, computed in float32), for every output row ``(n, g, o)``,

    ||y_fft - y||_2 <= 3 eps (log2 L + Ci) sum_c (||x_c||_2 ||w_c||_1 + ||x_c||_1 ||w_c||_2)

with ``eps = 2**-24``, ``L`` the number of points of one transformed frame and
``x_c = x[n, g, c]``, ``w_c = w[g, o, c]``: an FFT is accurate to ``O(eps log2 L)`` in
the 2-norm, the spectrum of one operand is bounded entrywise by its 1-norm, and the
sum over ``Ci`` channels adds one rounding per term (tests/test_fft.py checks it). The
bound is a worst case: measured errors are 1e-4 to 1e-3 of it, a relative Frobenius
error of about 2e-7 on standard-normal data, as for XLA's float32 direct convolution
(3e-7 on the same data).
Integers are refused: their convolution must be exact.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from .._spec import ConvSpec
from . import Algorithm, Form
from ._common import (
    compute_itemsize,
    map_chunks,
    relayout_bytes,
)

# The raw cost model's rates are machine constants of the calibration (set by hand from
# measurements on a 2-core CPU; the calibration fits the scale of the whole estimate):
# ``fft_flops``, the throughput of XLA's FFT in "flops" counted as ``2.5 n log2 n`` per
# real transform of ``n`` points (``5 n log2 n`` per complex one); ``fft_fused_flops``,
# the fused multiply-accumulate loop over few channels (complex64);
# ``fft_batched_matmul_flops``, frequency-batched small real matmuls (many channels);
# ``fft_cache_speedup``, how much faster chunked spectra stream than whole-batch ones.
CHUNK_BYTES = 6 * 2**20
"""The batch is processed in chunks whose frames and spectra take about this much."""
MIN_BLOCK_FACTOR = 2
"""Overlap-save frames are at least ``MIN_BLOCK_FACTOR (U - 1) + 1`` long."""


def next_fast_len(n: int) -> int:
    """The smallest integer ``>= n`` whose only prime factors are 2, 3, 5 and 7.

    FFT libraries are fastest on such lengths (equivalent to
    ``scipy.fft.next_fast_len(n, real=False)`` restricted to 7-smooth numbers).

    Args:
        n: a positive length.

    Returns:
        The 7-smooth length.

    Raises:
        ValueError: ``n < 1``.

    Example:
        >>> next_fast_len(97), next_fast_len(128), next_fast_len(1000001)
        (98, 128, 1000188)
    """
    if n < 1:
        raise ValueError(f"next_fast_len: n must be >= 1, got {n}")
    return _next_fast_len(int(n))


@functools.lru_cache(maxsize=4096)
def _next_fast_len(n: int) -> int:
    best = 1 << max(0, (n - 1).bit_length())  # a power of two is always a candidate
    p7 = 1
    while p7 < best:
        p5 = p7
        while p5 < best:
            p3 = p5
            while p3 < best:
                m = p3
                while m < n:
                    m *= 2
                best = min(best, m)
                p3 *= 3
            p5 *= 5
        p7 *= 7
    return best


# ---------------------------------------------------------------------------------------
# The polyphase rewrite (static, from the spec)
# ---------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Phases:
    """One spatial dim of the polyphase rewrite (see the module docstring).

    Output phase ``a`` and tap ``t`` meet input sample ``m = (a s + t d - lo) / ld``
    when that divides; the sample lies in input phase ``m mod R`` at plain position
    ``v = m div R``, and the tap becomes entry ``U - 1 - (v - vmin)`` of the reversed
    plain kernel (`index`).
    """

    P: int                 # output phases
    R: int                 # input phases
    U: int                 # plain kernel length
    J: int                 # length of one input phase
    lo: int                # plain padding, low (may be negative)
    hi: int                # plain padding, high (may be negative)
    Q: int                 # plain output length (per output phase)
    empty: bool            # no tap ever reaches an input sample: y == 0
    taps: tuple = ()       # (K, s, d, ld, lo, flip) of the dim: what `index` needs

    @property
    def E(self) -> int:
        """Padded length of the plain input: ``Q + U - 1``."""
        return self.Q + self.U - 1

    @property
    def contiguous(self) -> bool:
        """No stride or dilation: the plain kernel is the kernel, reversed unless
        flipped (no gather needed)."""
        _, stride, dilation, lhs_dilation, _, _ = self.taps
        return stride == dilation == lhs_dilation == 1 and not self.empty

    def index(self) -> np.ndarray:
        """``(P, R, U)``: the tap of the *effective* (flip applied) kernel that becomes
        entry ``U - 1 - u`` of the reversed plain kernel for output phase ``a`` and
        input phase ``b``, or ``K`` (a zero) when none does."""
        K, s, d, ld, lo, flip = self.taps
        out = np.full((self.P, self.R, self.U), K, dtype=np.int64)
        if self.empty:
            return out
        t = np.arange(K)
        vmin = -self.lo
        for a in range(self.P):
            num = a * s + t * d - lo
            hit = num % ld == 0
            m = num[hit] // ld
            out[a, m % self.R, self.U - 1 - (m // self.R - vmin)] = (
                K - 1 - t[hit] if flip else t[hit])
        return out


def _dim_phases(S, K, O, s, d, ld, lo, flip) -> _Phases:
    """The rewrite of one dim in closed form: per output phase the taps that meet
    samples are ``t0 + k T`` (``T = ld / gcd(d, ld)``), whose plain positions grow with
    ``k``, so the first and last of them bound ``U``."""
    g = math.gcd(s, ld)
    P, R = ld // g, s // g
    h = math.gcd(d, ld)
    T = ld // h
    ends = []
    for a in range(P):
        rhs = (lo - a * s) % ld  # t d = lo - a s (mod ld)
        if rhs % h:
            continue
        t0 = (rhs // h) * pow(d // h, -1, T) % T if T > 1 else 0
        if t0 >= K:
            continue
        for t in (t0, t0 + (K - 1 - t0) // T * T):
            ends.append((a * s + t * d - lo) // ld // R)
    Q = -(-O // P)
    J = -(-S // R)
    taps = (K, s, d, ld, lo, flip)
    if not ends:
        return _Phases(P, R, 1, J, 0, Q - J, Q, True, taps)
    vmin = min(ends)
    U = max(ends) - vmin + 1
    return _Phases(P, R, U, J, -vmin, Q + U - 1 - J + vmin, Q, False, taps)


@functools.lru_cache(maxsize=512)
def _phases(spec: ConvSpec) -> tuple[_Phases, ...]:
    return tuple(
        _dim_phases(S, K, O, s, d, ld, lo, spec.flip)
        for S, K, O, s, d, ld, (lo, _) in zip(
            spec.in_size, spec.kernel_size, spec.out_size, spec.stride, spec.rhs_dilation,
            spec.lhs_dilation, spec.padding,
        )
    )


# ---------------------------------------------------------------------------------------
# Blocking and the cost model
# ---------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Block:
    """How one plain dim is transformed: ``nb`` frames of length ``B`` (hop ``H``).

    ``B == 0`` marks a pointwise dim (kernel length 1): no transform along it.
    """

    B: int
    nb: int
    H: int


def _is_complex(spec: ConvSpec) -> bool:
    return np.dtype(spec.dtype).kind == "c"


def _plain_cost(spec: ConvSpec, phases, blocks, c) -> tuple[float, int]:
    """Seconds and workspace bytes of the plain FFT correlation with these blocks
    (``c``: the machine constants).

    The model (documented for calibration):

    * transforms: ``2.5 F log2 F`` flops per real frame of ``F`` points
      (``5 F log2 F`` complex), for ``N G Ci' nbt`` input frames, ``G Co' Ci'`` kernel
      frames and ``N G Co' nbt`` output frames, at ``fft_flops``;
    * spectral product: ``8`` real flops per complex multiply-add,
      ``N G Co' Ci' nbt bins``: for few channels a fused loop at ``fft_fused_flops``, for
      many a batched matmul at ``fft_batched_matmul_flops`` plus the transposes of the
      spectra; for ``Ci' = 1`` a broadcast product, costed as memory traffic;
    * 64-bit dtypes: arithmetic at half the rate;
    * memory: every spectrum written once and read once, at ``stream_bytes`` (the
      input and output spectra at ``fft_cache_speedup`` times that when the batch is
      processed in cache-sized chunks);
    * a fixed ``launch_seconds`` per stage.

    Primes mark channel counts after the polyphase rewrite; ``nbt`` counts frames
    times pointwise positions, ``bins`` the stored frequencies of one frame.
    """
    n, g = spec.batch, spec.groups
    ci = spec.in_channels * math.prod(p.R for p in phases)
    co = spec.out_channels * math.prod(p.P for p in phases)
    cplx = _is_complex(spec)
    real_bytes = compute_itemsize(spec)
    c_bytes = real_bytes * (1 if cplx else 2)
    tdims = [b.B for b in blocks if b.B]
    F = math.prod(tdims) if tdims else 1
    bins = F if (cplx or not tdims) else F // tdims[-1] * (tdims[-1] // 2 + 1)
    nbt = math.prod(b.nb if b.B else p.E for b, p in zip(blocks, phases))
    frames_x, frames_w, frames_y = n * g * ci * nbt, g * co * ci, n * g * co * nbt
    per_frame = (5.0 if cplx else 2.5) * F * math.log2(F) if F > 1 else 0.0
    fft_flops = per_frame * (frames_x + frames_w + frames_y)
    cmacs = n * g * co * ci * nbt * bins
    spec_bytes = c_bytes * bins * (frames_x + frames_w + frames_y)
    wide = 2.0 if real_bytes == 8 else 1.0  # float64 / complex128 arithmetic
    method = _product_method(n * nbt, ci, co)
    if method == "broadcast":
        product = spec_bytes / c["stream_bytes"]
    elif method == "loop":
        product = wide * 8 * cmacs / c["fft_fused_flops"]
    else:  # transposes of the three spectra, then batched real matmuls
        product = wide * 8 * cmacs / c["fft_batched_matmul_flops"] + 4 * spec_bytes / c["stream_bytes"]
    # chunked batches (see `_chunk`) keep the x and y spectra in cache
    per_n = (frames_x + frames_y) / max(n, 1) * (real_bytes * F + c_bytes * bins)
    cached = n * per_n > CHUNK_BYTES and per_n <= 2 * CHUNK_BYTES
    xy_bytes = c_bytes * bins * (frames_x + frames_y)
    memory = 2 * (spec_bytes - xy_bytes + xy_bytes / (c["fft_cache_speedup"] if cached else 1.0))
    seconds = (
        wide * fft_flops / c["fft_flops"]
        + product
        + memory / c["stream_bytes"]
        + 8 * c["launch_seconds"]
    )
    return seconds, int(spec_bytes + real_bytes * F * (frames_x + frames_y))


def _per_batch_bytes(spec: ConvSpec, phases, blocks) -> float:
    """Bytes of one batch element's frames and spectra (input and output)."""
    ci = spec.in_channels * math.prod(p.R for p in phases)
    co = spec.out_channels * math.prod(p.P for p in phases)
    cplx = _is_complex(spec)
    rb = compute_itemsize(spec)
    tdims = [b.B for b in blocks if b.B]
    F = math.prod(tdims) if tdims else 1
    bins = F if (cplx or not tdims) else F // tdims[-1] * (tdims[-1] // 2 + 1)
    nbt = math.prod(b.nb if b.B else p.E for b, p in zip(blocks, phases))
    per_frame = rb * F + (rb if cplx else 2 * rb) * bins
    return spec.groups * (ci + co) * nbt * per_frame


def _chunk(spec: ConvSpec, phases, blocks) -> int | None:
    """Batch elements per chunk (None: no chunking): the largest divisor of the batch
    whose frames and spectra fit in `CHUNK_BYTES`.

    Measured: 1.3x faster for 8 x 16 x 64 x 64 with 15 x 15 kernels, 1.7x for a
    depthwise 8 x 64 x 56 x 56 with 31 x 31 kernels.
    """
    per = _per_batch_bytes(spec, phases, blocks)
    n = spec.batch
    if n * per <= CHUNK_BYTES:
        return None
    return max(k for k in range(1, n + 1) if n % k == 0 and (k == 1 or k * per <= CHUNK_BYTES))


def _block_candidates(p: _Phases) -> list[_Block]:
    if p.U == 1:
        return [_Block(0, 1, p.Q)]
    single = next_fast_len(p.E)
    out = [_Block(single, 1, single - p.U + 1)]
    B = next_fast_len(MIN_BLOCK_FACTOR * (p.U - 1) + 1)
    while B < single:
        H = B - p.U + 1
        nb = -(-p.Q // H)
        if nb > 1:
            out.append(_Block(B, nb, H))
        B = next_fast_len(2 * B)
    return out


def _plan(spec: ConvSpec, c) -> tuple[tuple[_Phases, ...], tuple[_Block, ...], float, int]:
    """The polyphase rewrite, the blocking per dim (greedy, cheapest first), and the raw
    seconds and workspace (``c``: the machine constants)."""
    phases = _phases(spec)
    blocks = [_block_candidates(p)[0] for p in phases]
    for i, p in enumerate(phases):
        best = None
        for cand in _block_candidates(p):
            trial = [*blocks[:i], cand, *blocks[i + 1:]]
            est = _plain_cost(spec, phases, trial, c)
            if best is None or est[0] < best[0][0]:
                best = (est, cand)
        blocks[i] = best[1]
    seconds, work = _plain_cost(spec, phases, blocks, c)
    # the rewrite itself: gather of the kernel, phase split of x, interleave of y
    rewrite = 2 * compute_itemsize(spec) * (
        math.prod(spec.x_shape) + math.prod(spec.y_shape)
    ) / c["stream_bytes"]
    # the workspace: the frames and spectra of one chunk, and the rewritten operands
    workspace = work + relayout_bytes(spec)
    return phases, tuple(blocks), seconds + rewrite + c["launch_seconds"], workspace


# ---------------------------------------------------------------------------------------
# The algorithm
# ---------------------------------------------------------------------------------------


def plan(spec: ConvSpec, ctx):
    """One form (``fft``) with its blocking, or why the spec is out of reach."""
    if not jax.dtypes.issubdtype(spec.dtype, np.inexact):
        return f"integer convolution must be exact; FFT rounds (dtype {spec.dtype})"
    phases, blocks, seconds, workspace = _plan(spec, ctx.constants)
    blocked = [f"{b.nb} x {b.B}" for b in blocks if b.B and b.nb > 1]
    detail = "overlap-save frames " + ", ".join(blocked) if blocked else ""
    return (Form("fft", seconds, workspace,
                 lambda x, w, p: run(x, w, spec, phases, blocks, p), detail),)


def _split_input_phases(x, phases):
    """x (N, G, Ci, *S) -> (N, G, Ci * prod R, *J), phases b as channels (c major)."""
    nd = len(phases)
    n, g, ci = x.shape[:3]
    if all(p.R == 1 for p in phases):
        return x
    pads = [(0, 0, 0)] * 3 + [(0, p.J * p.R - s, 0) for p, s in zip(phases, x.shape[3:])]
    x = lax.pad(x, jnp.zeros((), x.dtype), pads)
    x = x.reshape(n, g, ci, *[v for p in phases for v in (p.J, p.R)])
    # (N, G, Ci, J1, R1, J2, R2, ...) -> (N, G, Ci, R1, R2, ..., J1, J2, ...)
    perm = (0, 1, 2, *(4 + 2 * i for i in range(nd)), *(3 + 2 * i for i in range(nd)))
    x = jnp.transpose(x, perm)
    return x.reshape(n, g, ci * math.prod(p.R for p in phases), *(p.J for p in phases))


def _plain_kernel(w, phases):
    """w (G, Co, Ci, *K) -> reversed plain kernel (G, Co * prod P, Ci * prod R, *U)."""
    nd = len(phases)
    g, co, ci = w.shape[:3]
    w = lax.pad(w, jnp.zeros((), w.dtype), [(0, 0, 0)] * 3 + [(0, 1, 0)] * nd)
    for i, p in enumerate(phases):
        ax = 3 + 3 * i
        if p.contiguous:  # the kernel itself, reversed unless flipped
            taps = lax.slice_in_dim(w, 0, p.U, axis=ax)
            w = taps if p.taps[5] else lax.rev(taps, (ax,))
        else:
            idx = p.index().astype(np.int32).reshape(-1)
            w = jnp.take(w, idx, axis=ax, mode="clip")
        w = w.reshape(*w.shape[:ax], p.P, p.R, p.U, *w.shape[ax + 1:])
    # (G, Co, Ci, P1, R1, U1, P2, R2, U2, ...) -> (G, Co, P.., Ci, R.., U..)
    perm = (
        0, 1, *(3 + 3 * i for i in range(nd)), 2, *(4 + 3 * i for i in range(nd)),
        *(5 + 3 * i for i in range(nd)),
    )
    w = jnp.transpose(w, perm)
    return w.reshape(
        g, co * math.prod(p.P for p in phases), ci * math.prod(p.R for p in phases),
        *(p.U for p in phases),
    )


def _interleave_output(y, phases, spec: ConvSpec):
    """(N, G, Co * prod P, *Q) -> (N, G, Co, *O): y[q P + a] = y_a[q]."""
    nd = len(phases)
    n, g = y.shape[:2]
    co = spec.out_channels
    if any(p.P > 1 for p in phases):
        y = y.reshape(n, g, co, *(p.P for p in phases), *(p.Q for p in phases))
        # -> (N, G, Co, Q1, P1, Q2, P2, ...)
        perm = (0, 1, 2, *(v for i in range(nd) for v in (3 + nd + i, 3 + i)))
        y = jnp.transpose(y, perm).reshape(n, g, co, *(p.Q * p.P for p in phases))
    limit = (*y.shape[:3], *spec.out_size)
    if tuple(y.shape) != limit:
        y = lax.slice(y, (0,) * y.ndim, limit)
    return y


_LETTERS = "abdefhijklmpqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"  # not n, g, c, o


def _frames(xp, phases, blocks):
    """(N, G, C, *E) -> (N, G, C, *batch, *B): overlap-save frames, transform axes last.

    Per dim: a pointwise dim keeps its length in the batch part; a transformed dim
    contributes ``nb`` to the batch part and ``B`` to the trailing part.
    """
    lead = xp.shape[:3]
    pieces = []  # per dim: (batch_len, frame_len or None)
    for i, (p, b) in enumerate(zip(phases, blocks)):
        ax = 3 + i
        if b.B == 0:
            pieces.append((p.E, None))
            continue
        if b.nb == 1:
            xp = lax.pad(xp, jnp.zeros((), xp.dtype), _pad_axis(xp.ndim, ax, b.B - p.E))
            pieces.append((1, b.B))
            continue
        total = (b.nb + 1) * b.H
        xp = lax.pad(xp, jnp.zeros((), xp.dtype), _pad_axis(xp.ndim, ax, total - p.E))
        chunks = xp.reshape(*xp.shape[:ax], b.nb + 1, b.H, *xp.shape[ax + 1:])
        head = lax.slice_in_dim(chunks, 0, b.nb, axis=ax)
        tail = lax.slice_in_dim(
            lax.slice_in_dim(chunks, 1, b.nb + 1, axis=ax), 0, b.B - b.H, axis=ax + 1
        )
        fr = jnp.concatenate([head, tail], axis=ax + 1)  # (..., nb, B, ...)
        xp = fr.reshape(*fr.shape[:ax], b.nb * b.B, *fr.shape[ax + 2:])
        pieces.append((b.nb, b.B))
    # now xp is (N, G, C, L1, L2, ...) with L = batch * frame (frame axis inner)
    shape = list(lead)
    for bl, fl in pieces:
        shape += [bl] if fl is None else [bl, fl]
    xp = xp.reshape(shape)
    batch_axes, frame_axes, pos = [], [], 3
    for _, fl in pieces:
        batch_axes.append(pos)
        pos += 1
        if fl is not None:
            frame_axes.append(pos)
            pos += 1
    perm = (0, 1, 2, *batch_axes, *frame_axes)
    if perm != tuple(range(len(perm))):
        xp = jnp.transpose(xp, perm)
    return xp


def _pad_axis(ndim, axis, amount):
    cfg = [(0, 0, 0)] * ndim
    cfg[axis] = (0, amount, 0)
    return cfg


def _unframe(y, phases, blocks):
    """(N, G, O, *batch, *B) -> (N, G, O, *Q): keep outputs ``U-1 .. U-1+H`` per frame."""
    nd = len(phases)
    lead = y.shape[:3]
    tdims = [i for i, b in enumerate(blocks) if b.B]
    # slice the valid part of each frame
    starts = [0] * y.ndim
    limits = list(y.shape)
    for j, i in enumerate(tdims):
        ax = 3 + nd + j
        starts[ax] = phases[i].U - 1
        limits[ax] = phases[i].U - 1 + min(blocks[i].H, phases[i].Q)
    y = lax.slice(y, starts, limits)
    # interleave (batch_i, frame_i) back to one axis per dim
    perm, shape = [0, 1, 2], list(lead)
    for i, b in enumerate(blocks):
        perm.append(3 + i)
        if b.B:
            j = tdims.index(i)
            perm.append(3 + nd + j)
            shape.append(y.shape[3 + i] * y.shape[3 + nd + j])
        else:
            shape.append(y.shape[3 + i])
    if tuple(perm) != tuple(range(len(perm))):
        y = jnp.transpose(y, perm)
    y = y.reshape(shape)
    limit = (*lead, *(p.Q for p in phases))
    if tuple(y.shape) != limit:
        y = lax.slice(y, (0,) * y.ndim, limit)
    return y


LOOP_MAX_CHANNELS = 48
"""Up to this many input channels the spectral product is an unrolled, fused sum."""


def _product_method(m: int, ci: int, co: int) -> str:
    """How to contract channels per frequency: (``m`` rows, ``ci`` -> ``co``)."""
    if ci == 1:
        return "broadcast"
    if ci <= LOOP_MAX_CHANNELS:
        return "loop"
    return "matmul"


def _spectral_product(xf, wf, nd, precision, method=None):
    """``yf[n, g, o, *b, *f] = sum_c xf[n, g, c, *b, *f] wf[g, o, c, *f]``.

    ``broadcast`` (one input channel) and ``loop`` (an unrolled sum over few channels)
    keep the frequencies minor and fuse into one pass; ``matmul`` moves the
    frequencies to the batch axes of a real batched matmul (four of them:
    ``(a + ib)(c + id)``), which is what many channels need.
    """
    n, g, ci = xf.shape[:3]
    batch = xf.shape[3:3 + nd]
    freqs = xf.shape[3 + nd:]
    co = wf.shape[1]
    nf = len(freqs)
    if method is None:
        method = _product_method(n * math.prod(batch), ci, co)
    wb = wf.reshape(1, g, co, ci, *([1] * nd), *freqs)
    if method == "broadcast" and ci == 1:
        return xf * wb[:, :, :, 0]
    if method == "loop":
        acc = None
        for c in range(ci):
            term = lax.slice_in_dim(xf, c, c + 1, axis=2) * wb[:, :, :, c]
            acc = term if acc is None else acc + term
        return acc
    # frequency-major batched matmul: (G, F, M, C) @ (G, F, C, O)
    m = n * math.prod(batch)
    fsize = math.prod(freqs)
    xt = jnp.transpose(xf, (1, *range(3 + nd, 3 + nd + nf), 0, *range(3, 3 + nd), 2))
    xt = xt.reshape(g, fsize, m, ci)
    wt = jnp.transpose(wf, (0, *range(3, 3 + nf), 2, 1)).reshape(g, fsize, ci, co)
    if jnp.iscomplexobj(xt):
        xr, xi, wr, wi = jnp.real(xt), jnp.imag(xt), jnp.real(wt), jnp.imag(wt)
        mm = functools.partial(jnp.matmul, precision=precision)
        yt = lax.complex(mm(xr, wr) - mm(xi, wi), mm(xr, wi) + mm(xi, wr))
    else:
        yt = jnp.matmul(xt, wt, precision=precision)
    yt = yt.reshape(g, *freqs, n, *batch, co)
    # (G, *F, N, *B, O) -> (N, G, O, *B, *F)
    perm = (1 + nf, 0, 2 + nf + nd, *range(2 + nf, 2 + nf + nd), *range(1, 1 + nf))
    return jnp.transpose(yt, perm)


def _plain_fft_correlation(xp, wr, phases, blocks, precision, chunk=None):
    """Stride-1 correlation of xp (N, G, C, *E) with the reversed kernel wr (G, O, C, *U).

    With ``chunk`` (a divisor of N), the kernel spectrum is computed once and the batch
    is processed ``chunk`` elements at a time (frames, transform, product, inverse), so
    that each chunk's spectra stay in cache (see `_chunk`).
    """
    nd = len(phases)
    cplx = jnp.iscomplexobj(xp)
    tdims = [i for i, b in enumerate(blocks) if b.B]
    sizes = tuple(blocks[i].B for i in tdims)
    # kernel: pointwise dims squeezed, transformed dims zero-padded by the FFT
    wr = wr.reshape(*wr.shape[:3], *(wr.shape[3 + i] for i in tdims))
    t_axes_x = tuple(range(3 + nd, 3 + nd + len(tdims)))
    t_axes_w = tuple(range(3, 3 + len(tdims)))
    if tdims:
        wf = (jnp.fft.fftn if cplx else jnp.fft.rfftn)(wr, s=sizes, axes=t_axes_w)
    else:
        wf = wr

    def body(xc, wf):
        xf = _frames(xc, phases, blocks)
        if tdims:
            xf = (jnp.fft.fftn if cplx else jnp.fft.rfftn)(xf, s=sizes, axes=t_axes_x)
        yf = _spectral_product(xf, wf, nd, precision)
        if tdims:
            yf = (jnp.fft.ifftn if cplx else jnp.fft.irfftn)(yf, s=sizes, axes=t_axes_x)
        return _unframe(yf, phases, blocks)

    n = xp.shape[0]
    if chunk is None or chunk >= n:
        return body(xp, wf)
    return map_chunks(lambda xc: body(xc, wf), xp.reshape(n // chunk, chunk, *xp.shape[1:]))


def _unit_scale(a):
    """``a`` times a power of two that brings its largest finite magnitude into
    ``[0.5, 1)``, and the exponent that undoes it (powers of two scale exactly)."""
    real = jnp.abs(a).dtype
    top = jnp.max(jnp.where(jnp.isfinite(a), jnp.abs(a), jnp.zeros((), real)), initial=0)
    _, e = jnp.frexp(top)
    return a * jnp.ldexp(jnp.ones((), real), -e).astype(a.dtype), e


def run(x, w, spec: ConvSpec, phases, blocks, precision=None):
    """``spec`` with the rewrite ``phases`` and the frames ``blocks`` (`_plan`).

    Both operands are scaled to a largest magnitude below one (by powers of two) and the
    result scaled back, so that the transforms' sums, which grow with the frame length,
    overflow no earlier than the direct sum does.
    """
    if any(p.empty for p in phases):
        return jnp.zeros(spec.y_shape, x.dtype)
    (x, ex), (w, ew) = _unit_scale(x), _unit_scale(w)
    xs = _split_input_phases(x, phases)
    cfg = [(0, 0, 0)] * 3 + [(p.lo, p.hi, 0) for p in phases]
    xp = lax.pad(xs, jnp.zeros((), xs.dtype), cfg)
    wr = _plain_kernel(w, phases)
    y = _plain_fft_correlation(xp, wr, phases, blocks, precision, _chunk(spec, phases, blocks))
    y = _interleave_output(y, phases, spec)
    # back in two steps: one power of two of ex + ew could overflow where the result does not
    real = jnp.abs(y).dtype
    for e in (ex, ew):
        y = y * jnp.ldexp(jnp.ones((), real), e).astype(y.dtype)
    return y.astype(x.dtype)


ALGORITHM = Algorithm(
    "fft",
    "convolution theorem (real/complex FFTs), polyphase stride and dilation, "
    "overlap-save blocking",
    ("fft",),
    plan,
)
