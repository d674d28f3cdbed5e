"""Independent NumPy references written from the definitions (no jconv code).

`conv_ref` is the deep-learning convolution (a cross-correlation) as a direct sum, with
groups, stride, dilation, (low, high) padding (negative crops) and both layouts;
`conv_transpose_ref` scatters each input sample into the output (the transposed
definition, not a rewrite as a convolution); `vjp_ref` reads both VJPs of `conv_ref` off
by linearity; `close` is the comparison every test file uses.
"""

from __future__ import annotations

import itertools
import math

import numpy as np


def _pad(x, pads):
    """Zero-pad (positive) or crop (negative) the spatial axes of (N, C, *S)."""
    for i, (lo, hi) in enumerate(pads):
        ax = 2 + i
        if lo < 0:
            x = np.take(x, range(-lo, x.shape[ax]), axis=ax)
            lo = 0
        if hi < 0:
            x = np.take(x, range(0, x.shape[ax] + hi), axis=ax)
            hi = 0
        width = [(0, 0)] * x.ndim
        width[ax] = (lo, hi)
        x = np.pad(x, width)
    return x


def conv_ref(x, w, bias=None, stride=1, pads=0, dilation=1, groups=1, channels_last=False):
    """y[n, o, p] = b[o] + sum_{c in group(o), t} w[o, c, t] x_pad[n, c, p s + t d]."""
    x, w = np.asarray(x), np.asarray(w)
    if channels_last:
        x = np.moveaxis(x, -1, 1)
        w = np.moveaxis(np.moveaxis(w, -1, 0), -1, 1)
    nd = x.ndim - 2
    stride = (stride,) * nd if np.isscalar(stride) else tuple(stride)
    dilation = (dilation,) * nd if np.isscalar(dilation) else tuple(dilation)
    if np.isscalar(pads):
        pads = ((pads, pads),) * nd
    xp = _pad(x, pads)
    n, c_in = x.shape[:2]
    c_out, cg = w.shape[:2]
    k = w.shape[2:]
    out = tuple((xp.shape[2 + i] - dilation[i] * (k[i] - 1) - 1) // stride[i] + 1 for i in range(nd))
    dtype = np.result_type(x, w)
    y = np.zeros((n, c_out, *out), dtype)
    og = c_out // groups
    for o in range(c_out):
        g = o // og
        for c in range(cg):
            for t in itertools.product(*(range(kk) for kk in k)):
                sl = tuple(
                    slice(t[i] * dilation[i], t[i] * dilation[i] + (out[i] - 1) * stride[i] + 1, stride[i])
                    for i in range(nd)
                )
                y[:, o] += w[(o, c, *t)] * xp[(slice(None), g * cg + c, *sl)]
    if bias is not None:
        y += np.asarray(bias).reshape(1, -1, *([1] * nd))
    return np.moveaxis(y, 1, -1) if channels_last else y


def conv_transpose_ref(x, w, bias=None, stride=1, pads=0, output_padding=0, dilation=1, groups=1):
    """Scatter: out[n, o, i s + t d - lo] += x[n, c, i] w[c, o', t]; w is (C_in, C_out/G, *K)."""
    x, w = np.asarray(x), np.asarray(w)
    nd = x.ndim - 2
    stride = (stride,) * nd if np.isscalar(stride) else tuple(stride)
    dilation = (dilation,) * nd if np.isscalar(dilation) else tuple(dilation)
    op = (output_padding,) * nd if np.isscalar(output_padding) else tuple(output_padding)
    if np.isscalar(pads):
        pads = ((pads, pads),) * nd
    pads = tuple((p, p) if np.isscalar(p) else tuple(p) for p in pads)
    n, c_in = x.shape[:2]
    cog = w.shape[1]
    k = w.shape[2:]
    full = tuple((x.shape[2 + i] - 1) * stride[i] + dilation[i] * (k[i] - 1) + 1 + op[i] for i in range(nd))
    dtype = np.result_type(x, w)
    y = np.zeros((n, cog * groups, *full), dtype)
    cig = c_in // groups
    for c in range(c_in):
        g = c // cig
        for o in range(cog):
            for t in itertools.product(*(range(kk) for kk in k)):
                sl = tuple(
                    slice(t[i] * dilation[i], t[i] * dilation[i] + (x.shape[2 + i] - 1) * stride[i] + 1, stride[i])
                    for i in range(nd)
                )
                y[(slice(None), g * cog + o, *sl)] += w[(c, o, *t)] * x[:, c]
    crop = tuple(slice(lo, full[i] - hi) for i, (lo, hi) in enumerate(pads))
    y = y[(slice(None), slice(None), *crop)]
    if bias is not None:
        y = y + np.asarray(bias).reshape(1, -1, *([1] * nd))
    return y


def convolve_ref(a, b):
    """Full N-d convolution of equal-rank arrays by the direct sum over b's entries."""
    a, b = np.asarray(a), np.asarray(b)
    out = tuple(m + k - 1 for m, k in zip(a.shape, b.shape))
    y = np.zeros(out, np.result_type(a, b))
    for j in itertools.product(*(range(k) for k in b.shape)):
        sl = tuple(slice(j[i], j[i] + a.shape[i]) for i in range(a.ndim))
        y[sl] += b[j] * a
    return y


def close(a, b, rtol=1e-10):
    """``a`` equals ``b`` in shape and to ``rtol`` times b's largest magnitude (at least 1)."""
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    scale = max(np.abs(b).max(initial=0.0), 1.0)
    np.testing.assert_allclose(a, b, rtol=0, atol=rtol * scale)


def vjp_ref(x, w, dy, **kw):
    """(dx, dw) of `conv_ref` at (x, w) for cotangent dy, read off by linearity.

    ``dx[n, i] = <dy[n], conv_ref(e_i, w)>`` (all one-hot ``e_i`` in one batched call) and
    ``dw[j] = <dy, conv_ref(x, e_j)>``.
    """
    xs = x.shape
    per = math.prod(xs[1:])
    rows = conv_ref(np.eye(per).reshape(per, *xs[1:]), w, None, **kw).reshape(per, -1)
    dx = (dy.reshape(xs[0], -1) @ rows.T).reshape(xs)
    dw = np.zeros(w.shape)
    for j in np.ndindex(*w.shape):
        e = np.zeros(w.shape)
        e[j] = 1.0
        dw[j] = np.sum(dy * conv_ref(x, e, None, **kw))
    return dx, dw
