"""ConvSpec: the one description of a convolution, and the rules that build it.

Every public function turns its arguments into a `ConvSpec` here, before any tracing.
This module is the only place that normalises arguments, validates them, computes
output shapes, and derives the specs of the two VJPs. Algorithms only ever see a
`ConvSpec` and arrays in its canonical layout.

Canonical layout (``G`` groups, ``Ci``/``Co`` channels per group)::

    x: (N, G, Ci, *S)      w: (G, Co, Ci, *K)      y: (N, G, Co, *O)

    y[n, g, o, p] = sum_{c, t} xe[n, g, c, p * s + t * d] * w[g, o, c, t']

where ``xe`` is ``x`` with ``lhs_dilation - 1`` zeros inserted between neighbouring
samples and then padded by ``padding`` (a negative amount crops), ``s`` is the stride,
``d`` the kernel (rhs) dilation, and ``t' = K - 1 - t`` when ``flip`` else ``t``.
Per spatial dimension, with ``E = ld (S - 1) + 1 + lo + hi`` the padded length,

    O = max(floor((E - d (K - 1) - 1) / s) + 1, 0),

where ``S`` samples dilate to ``ld (S - 1) + 1`` and no samples to none, as in
`jax.lax`. A spec may have zero-size axes (batch, channels, an input spatial dim); its
result is then zeros, and no algorithm runs.
"""

from __future__ import annotations

import dataclasses
import math
import operator
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
SIGNAL_MODES = ("full", "same", "valid", "circular")
ROLES = ("forward", "input_grad", "kernel_grad")

Pairs = tuple[tuple[int, int], ...]


@dataclasses.dataclass(frozen=True)
class ConvSpec:
    """A grouped N-d cross-correlation in canonical layout (see the module docstring).

    Frozen and hashable: it is a static argument of `jit` and a parameter of the
    primitive, so everything an algorithm or the cost model needs is here.
    """

    batch: int
    groups: int
    in_channels: int
    out_channels: int
    in_size: tuple[int, ...]
    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    padding: Pairs
    lhs_dilation: tuple[int, ...]
    rhs_dilation: tuple[int, ...]
    flip: bool = False
    dtype: str = "float32"

    # -- shapes -------------------------------------------------------------------------
    @staticmethod
    def dilated(n: int, d: int) -> int:
        """Length of ``n`` samples with ``d - 1`` zeros between neighbours."""
        return d * (n - 1) + 1 if n else 0

    @property
    def ndim(self) -> int:
        """Number of spatial dimensions."""
        return len(self.in_size)

    @property
    def padded_size(self) -> tuple[int, ...]:
        """Length of the dilated, padded input per spatial dim (``E``)."""
        return tuple(
            self.dilated(n, ld) + lo + hi
            for n, ld, (lo, hi) in zip(self.in_size, self.lhs_dilation, self.padding)
        )

    @property
    def dilated_kernel_size(self) -> tuple[int, ...]:
        """Extent of the dilated kernel per spatial dim: ``d (K - 1) + 1``."""
        return tuple(self.dilated(k, d) for k, d in zip(self.kernel_size, self.rhs_dilation))

    @property
    def out_size(self) -> tuple[int, ...]:
        """Output spatial size: ``max(floor((E - d (K - 1) - 1) / s) + 1, 0)`` per dim."""
        return tuple(
            max((e - dk) // s + 1, 0)
            for e, dk, s in zip(self.padded_size, self.dilated_kernel_size, self.stride)
        )

    @property
    def x_shape(self) -> tuple[int, ...]:
        return (self.batch, self.groups, self.in_channels, *self.in_size)

    @property
    def w_shape(self) -> tuple[int, ...]:
        return (self.groups, self.out_channels, self.in_channels, *self.kernel_size)

    @property
    def y_shape(self) -> tuple[int, ...]:
        return (self.batch, self.groups, self.out_channels, *self.out_size)

    @property
    def macs(self) -> int:
        """Multiply-accumulates of the direct sum (zeros of dilation and padding included)."""
        return (
            self.batch * self.groups * self.out_channels * self.in_channels
            * math.prod(self.out_size) * math.prod(self.kernel_size)
        )

    @property
    def is_empty(self) -> bool:
        """True when an operand or the result has no elements: the result is then zeros.

        The three passes of one convolution share this: each involves x, w and y (in
        different roles), so its two VJP specs are empty exactly when it is.
        """
        return 0 in (*self.x_shape, *self.w_shape, *self.y_shape)

    # -- the two VJPs ---------------------------------------------------------------------
    def _remainders(self) -> tuple[int, ...]:
        """Per dim, the tail of the padded input that no window reaches: ``(E - dK) mod s``."""
        return tuple(
            (e - dk) % s
            for e, dk, s in zip(self.padded_size, self.dilated_kernel_size, self.stride)
        )

    def input_grad(self) -> ConvSpec:
        """The spec of ``dx = conv(dy, swap(w))``; see the derivation in ``_conv.py``.

        Operands: ``dy`` as x ``(N, G, Co, *O)``, ``w`` with its channel axes swapped,
        ``(G, Ci, Co, *K)``. Result: ``(N, G, Ci, *S)``.
        """
        pad = tuple(
            (d * (k - 1) - lo, d * (k - 1) - hi + r)
            for k, d, (lo, hi), r in zip(
                self.kernel_size, self.rhs_dilation, self.padding, self._remainders()
            )
        )
        return dataclasses.replace(
            self,
            in_channels=self.out_channels,
            out_channels=self.in_channels,
            in_size=self.out_size,
            stride=self.lhs_dilation,
            padding=pad,
            lhs_dilation=self.stride,
            flip=not self.flip,
        )

    def kernel_grad(self) -> ConvSpec:
        """The spec of ``dw = conv(x^T, dy^T)``; see the derivation in ``_conv.py``.

        Operands: ``x`` as ``(Ci, G, N, *S)``, ``dy`` as ``(G, Co, N, *O)``.
        Result: ``(Ci, G, Co, *K)``, the kernel gradient before un-flipping.
        """
        pad = tuple((lo, hi - r) for (lo, hi), r in zip(self.padding, self._remainders()))
        return dataclasses.replace(
            self,
            batch=self.in_channels,
            in_channels=self.batch,
            kernel_size=self.out_size,
            stride=self.rhs_dilation,
            padding=pad,
            rhs_dilation=self.stride,
            flip=False,
        )


# ---------------------------------------------------------------------------------------
# Argument normalisation and validation. Every message: function, argument, rule, values.
# ---------------------------------------------------------------------------------------


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def check_array(fn: str, name: str, a) -> None:
    """Raise TypeError unless ``a`` is an array (a JAX or NumPy array, or a tracer)."""
    if not (hasattr(a, "shape") and hasattr(a, "dtype") and hasattr(a, "ndim")):
        raise TypeError(f"{fn}: {name} must be an array, got {type(a).__name__}")
    if type(a).__module__.split(".")[0] == "torch":
        raise TypeError(
            f"{fn}: {name} is a torch.Tensor; pass a JAX or NumPy array, e.g. "
            f"jax.dlpack.from_dlpack({name}) (no copy) or {name}.numpy()")
    try:
        jnp.dtype(a.dtype)
    except TypeError:
        raise TypeError(f"{fn}: {name} has dtype {a.dtype!r}, which is not a NumPy or JAX "
                        f"dtype") from None
    if not jax.dtypes.issubdtype(a.dtype, np.number):
        raise TypeError(
            f"{fn}: {name} must have a numeric dtype (integer, float or complex), "
            f"got {a.dtype}"
        )


def check_precision(fn: str, precision):
    """``precision`` as `jax.lax` takes it, canonical and hashable: None, one
    `jax.lax.Precision`, or a pair (x's, w's). Names (``"highest"``, ``"float32"``, ...)
    become their `jax.lax.Precision`; None under ``jax.default_matmul_precision("highest")``
    (or ``"float32"``) becomes ``HIGHEST``, so that the policy is read when traced."""
    names = ", ".join(repr(p.name.lower()) for p in jax.lax.Precision)

    def one(p):
        if isinstance(p, jax.lax.Precision):
            return p
        if isinstance(p, str):
            try:
                return jax.lax.Precision(p.lower())
            except ValueError:
                pass
        raise ValueError(
            f"{fn}: precision must be None, a jax.lax.Precision, one of the names {names} "
            f"(or 'bfloat16', 'tensorfloat32', 'float32', 'fastest'), or a pair of them, "
            f"got {p!r}")

    if precision is None:
        default = jax.config.jax_default_matmul_precision
        return one(default) if default in ("highest", "float32") else None
    if isinstance(precision, (tuple, list)):
        if len(precision) != 2:
            raise ValueError(f"{fn}: a precision pair has two entries (x's and w's), got "
                             f"{precision!r}")
        pair = (one(precision[0]), one(precision[1]))
        return pair[0] if pair[0] == pair[1] else pair
    return one(precision)


def is_highest(precision) -> bool:
    """Whether ``precision`` (canonical, `check_precision`) asks for lax's numerics."""
    if isinstance(precision, tuple):
        return all(p == jax.lax.Precision.HIGHEST for p in precision)
    return precision == jax.lax.Precision.HIGHEST


def check_dtype(fn: str, dtype) -> np.dtype:
    """``dtype`` as a NumPy dtype of a number (bfloat16 included), or TypeError."""
    try:
        out = jnp.dtype(dtype)
    except TypeError:
        raise TypeError(f"{fn}: dtype must be a NumPy or JAX dtype, got {dtype!r}") from None
    if not jax.dtypes.issubdtype(out, np.number):
        raise TypeError(f"{fn}: dtype must be an integer, float or complex dtype, got {out}")
    return out


def check_flag(fn: str, name: str, value) -> bool:
    """A bool argument, or TypeError (a truthy string is not a flag)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{fn}: {name} must be True or False, got {value!r}")
    return bool(value)


def per_dim(fn: str, name: str, value, nd: int, *, minimum: int | None = None) -> tuple:
    """An int or one int per spatial dim, as a tuple of ``nd`` ints."""
    if _is_int(value):
        values = (int(value),) * nd
    elif isinstance(value, Sequence) and not isinstance(value, str):
        if len(value) != nd:
            raise ValueError(
                f"{fn}: {name} has {len(value)} values {tuple(value)}, expected one int "
                f"or {nd} (one per spatial dim)"
            )
        if not all(_is_int(v) for v in value):
            raise TypeError(f"{fn}: {name} must contain ints, got {tuple(value)}")
        values = tuple(int(v) for v in value)
    else:
        raise TypeError(f"{fn}: {name} must be an int or a sequence of ints, got {value!r}")
    if minimum is not None and any(v < minimum for v in values):
        raise ValueError(f"{fn}: {name} must be >= {minimum}, got {value!r}")
    return values


def _padding_pairs(fn: str, padding, nd: int) -> Pairs:
    """Explicit padding: an int, one int per dim, or one (low, high) pair per dim."""
    if _is_int(padding):
        return ((int(padding), int(padding)),) * nd
    if isinstance(padding, Sequence) and not isinstance(padding, str):
        if len(padding) != nd:
            raise ValueError(
                f"{fn}: padding has {len(padding)} entries {tuple(padding)}, expected one "
                f"int, or {nd} ints or (low, high) pairs (one per spatial dim)"
            )
        pairs = []
        for p in padding:
            if _is_int(p):
                pairs.append((int(p), int(p)))
            elif (
                isinstance(p, Sequence) and len(p) == 2 and all(_is_int(v) for v in p)
            ):
                pairs.append((int(p[0]), int(p[1])))
            else:
                raise TypeError(
                    f"{fn}: each padding entry must be an int or a (low, high) pair of "
                    f"ints, got {p!r}"
                )
        return tuple(pairs)
    raise TypeError(
        f"{fn}: padding must be an int, a sequence, or one of 'valid', 'same', 'full'; "
        f"got {padding!r}"
    )


def conv_padding(fn, padding, in_size, kernel_size, stride, dilation) -> Pairs:
    """Resolve ``padding`` of `conv` to (low, high) pairs.

    ``"valid"``: none. ``"full"``: ``d (k - 1)`` on both sides. ``"same"`` (XLA's SAME):
    output size ``ceil(n / s)``; total ``max((ceil(n/s) - 1) s + d (k - 1) + 1 - n, 0)``,
    the odd element at the high end.
    """
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return ((0, 0),) * len(in_size)
        if mode == "full":
            return tuple((d * (k - 1),) * 2 for k, d in zip(kernel_size, dilation))
        if mode == "same":
            pairs = []
            for n, k, s, d in zip(in_size, kernel_size, stride, dilation):
                total = max((-(-n // s) - 1) * s + d * (k - 1) + 1 - n, 0)
                pairs.append((total // 2, total - total // 2))
            return tuple(pairs)
        raise ValueError(
            f"{fn}: padding must be 'valid', 'same', 'full', an int or per-dim values, "
            f"got {padding!r}"
        )
    return _padding_pairs(fn, padding, len(in_size))


def check_choice(fn: str, name: str, value, choices) -> str:
    if not isinstance(value, str) or value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{fn}: {name} must be one of {options}, got {value!r}")
    return value


def _check_sizes(fn: str, spec: ConvSpec) -> None:
    """Every padded input must hold at least one dilated kernel (and not be negative).

    This holds for an empty input too: its padding alone must make room for a window.
    Where no window fits, `jax.lax` returns an empty result; jconv raises instead.
    """
    for i, (n, e, dk, pad) in enumerate(
        zip(spec.in_size, spec.padded_size, spec.dilated_kernel_size, spec.padding)
    ):
        if e < 0 or (e == 0 and n > 0):
            raise ValueError(
                f"{fn}: padding {pad} leaves a non-positive input size {e} in spatial "
                f"dim {i}"
            )
        if dk > e:
            raise ValueError(
                f"{fn}: the dilated kernel (extent {dk}) is larger than the padded input "
                f"(size {e}) in spatial dim {i}"
            )


def _check_ranks(fn: str, x_shape, w_shape, x_name="x", w_name="w") -> int:
    if len(x_shape) < 3:
        raise ValueError(
            f"{fn}: {x_name} must have rank >= 3 (batch, channels, spatial...), got "
            f"shape {tuple(x_shape)}"
        )
    if len(w_shape) != len(x_shape):
        raise ValueError(
            f"{fn}: {x_name} has rank {len(x_shape)} but {w_name} has rank "
            f"{len(w_shape)}; they must be equal (batch and channel axes plus "
            f"{len(x_shape) - 2} spatial dims)"
        )
    return len(x_shape) - 2


def _channels_first(shape, channels_last: bool) -> tuple[int, ...]:
    """(N, *S, C) -> (N, C, *S) when channels_last."""
    shape = tuple(shape)
    return (shape[0], shape[-1], *shape[1:-1]) if channels_last else shape


def _conv_kernel_first(shape, channels_last: bool) -> tuple[int, ...]:
    """(*K, I, O) -> (O, I, *K) when channels_last."""
    shape = tuple(shape)
    return (shape[-1], shape[-2], *shape[:-2]) if channels_last else shape


def _check_groups(fn: str, groups) -> int:
    if not _is_int(groups):
        raise TypeError(f"{fn}: groups must be an int, got {groups!r}")
    if groups < 1:
        raise ValueError(f"{fn}: groups must be >= 1, got {groups}")
    return int(groups)


def _check_kernel_size(fn: str, sizes) -> None:
    """A kernel needs at least one tap per spatial dim (`jax.lax` rejects none too)."""
    if any(n < 1 for n in sizes):
        raise ValueError(
            f"{fn}: w has spatial size {tuple(sizes)}; every entry must be >= 1 (a kernel "
            f"needs at least one tap per spatial dim)"
        )


def _check_bias(fn: str, bias_shape, c_out: int) -> None:
    if bias_shape is not None and tuple(bias_shape) != (c_out,):
        raise ValueError(
            f"{fn}: bias has shape {tuple(bias_shape)}, expected ({c_out},) (one value "
            f"per output channel)"
        )


@dataclasses.dataclass(frozen=True)
class ConvLayer:
    """A `conv` or `conv_transpose` call: the core spec plus what surrounds it.

    ``mode_padding`` is applied to the input with ``padding_mode`` before the core
    convolution (whose own padding is then zero); with ``padding_mode="zeros"`` the core
    spec pads and ``mode_padding`` is None. ``transpose`` marks `conv_transpose`, whose
    kernel is stored ``(C_in, C_out // G, *K)``.
    """

    spec: ConvSpec
    channels_last: bool = False
    padding_mode: str = "zeros"
    mode_padding: Pairs | None = None
    transpose: bool = False

    @property
    def in_channels(self) -> int:
        return self.spec.groups * self.spec.in_channels

    @property
    def out_channels(self) -> int:
        return self.spec.groups * self.spec.out_channels

    def _layout(self, channels, size) -> tuple[int, ...]:
        n = self.spec.batch
        return (n, *size, channels) if self.channels_last else (n, channels, *size)

    @property
    def input_size(self) -> tuple[int, ...]:
        """The user's input spatial size (before any mode padding)."""
        size = self.spec.in_size
        if self.mode_padding is not None:
            size = tuple(n - lo - hi for n, (lo, hi) in zip(size, self.mode_padding))
        return size

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self._layout(self.in_channels, self.input_size)

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self._layout(self.out_channels, self.spec.out_size)

    @property
    def kernel_shape(self) -> tuple[int, ...]:
        """The user-facing kernel shape."""
        s = self.spec
        if self.transpose:
            first = (self.in_channels, s.out_channels, *s.kernel_size)
            return (*s.kernel_size, s.out_channels, self.in_channels) if self.channels_last else first
        if self.channels_last:
            return (*s.kernel_size, s.in_channels, self.out_channels)
        return (self.out_channels, s.in_channels, *s.kernel_size)


def conv_layer(
    fn: str,
    x_shape,
    w_shape,
    dtype,
    *,
    bias_shape=None,
    stride=1,
    padding=0,
    dilation=1,
    groups=1,
    padding_mode="zeros",
    channels_last=False,
) -> ConvLayer:
    """Validate the arguments of `conv` and build its `ConvLayer`."""
    channels_last = check_flag(fn, "channels_last", channels_last)
    nd = _check_ranks(fn, x_shape, w_shape)
    xs = _channels_first(x_shape, channels_last)
    ws = _conv_kernel_first(w_shape, channels_last)
    groups = _check_groups(fn, groups)
    n, c_in, size = xs[0], xs[1], xs[2:]
    c_out, c_per_group, ksize = ws[0], ws[1], ws[2:]
    if c_in % groups:
        raise ValueError(f"{fn}: x has {c_in} input channels, which groups={groups} does not divide")
    if c_out % groups:
        raise ValueError(
            f"{fn}: w has {c_out} output channels, which groups={groups} does not divide"
        )
    if c_per_group != c_in // groups:
        axis = "w.shape[-2]" if channels_last else "w.shape[1]"
        raise ValueError(
            f"{fn}: {axis} is {c_per_group} but x has {c_in} input channels and "
            f"groups={groups}, so it must be {c_in // groups} (input channels per group)"
        )
    _check_kernel_size(fn, ksize)
    _check_bias(fn, bias_shape, c_out)
    stride = per_dim(fn, "stride", stride, nd, minimum=1)
    dilation = per_dim(fn, "dilation", dilation, nd, minimum=1)
    check_choice(fn, "padding_mode", padding_mode, PADDING_MODES)
    pads = conv_padding(fn, padding, size, ksize, stride, dilation)
    mode_padding = None
    if padding_mode != "zeros":
        for i, ((lo, hi), m) in enumerate(zip(pads, size)):
            if m == 0:
                raise ValueError(
                    f"{fn}: x has size 0 in spatial dim {i}, which padding_mode="
                    f"{padding_mode!r} cannot pad (it copies input values; only 'zeros' "
                    f"pads an empty dim)"
                )
            if min(lo, hi) < 0:
                raise ValueError(
                    f"{fn}: padding {(lo, hi)} in spatial dim {i} is negative, which "
                    f"padding_mode={padding_mode!r} does not allow (only 'zeros' crops)"
                )
            limit = {"reflect": m - 1, "circular": m}.get(padding_mode)
            if limit is not None and max(lo, hi) > limit:
                raise ValueError(
                    f"{fn}: padding {(lo, hi)} in spatial dim {i} exceeds {limit}, the "
                    f"most that padding_mode={padding_mode!r} allows for input size {m}"
                )
        mode_padding = pads
        size = tuple(m + lo + hi for m, (lo, hi) in zip(size, pads))
        pads = ((0, 0),) * nd
    spec = ConvSpec(
        batch=n,
        groups=groups,
        in_channels=c_in // groups,
        out_channels=c_out // groups,
        in_size=tuple(size),
        kernel_size=tuple(ksize),
        stride=stride,
        padding=pads,
        lhs_dilation=(1,) * nd,
        rhs_dilation=dilation,
        dtype=np.dtype(dtype).name,
    )
    _check_sizes(fn, spec)
    return ConvLayer(spec, bool(channels_last), padding_mode, mode_padding)


def transpose_padding(kernel_size, dilation, padding, output_padding) -> Pairs:
    """The core padding of a transposed convolution, per dim
    ``(d (k - 1) - lo, d (k - 1) - hi + output_padding)``: that of the input gradient
    of a `conv` padded by ``(lo, hi)``."""
    return tuple(
        (d * (k - 1) - lo, d * (k - 1) - hi + op)
        for k, d, (lo, hi), op in zip(kernel_size, dilation, padding, output_padding)
    )


def conv_transpose_layer(
    fn: str,
    x_shape,
    w_shape,
    dtype,
    *,
    bias_shape=None,
    stride=1,
    padding=0,
    output_padding=0,
    dilation=1,
    groups=1,
    channels_last=False,
) -> ConvLayer:
    """Validate the arguments of `conv_transpose` and build its `ConvLayer`.

    Per dim the output size is ``(n - 1) s - lo - hi + d (k - 1) + output_padding + 1``,
    for an empty input (``n = 0``) too; the core is a convolution of ``x`` dilated by
    ``s`` and padded by ``(d (k - 1) - lo, d (k - 1) - hi + output_padding)`` with the
    flipped kernel.
    """
    channels_last = check_flag(fn, "channels_last", channels_last)
    nd = _check_ranks(fn, x_shape, w_shape)
    xs = _channels_first(x_shape, channels_last)
    # kernel (C_in, C_out // G, *K), or (*K, C_out // G, C_in) with channels_last
    ws = _conv_kernel_first(w_shape, channels_last)
    groups = _check_groups(fn, groups)
    n, c_in, size = xs[0], xs[1], xs[2:]
    w_in, c_out_per_group, ksize = ws[0], ws[1], ws[2:]
    if c_in % groups:
        raise ValueError(f"{fn}: x has {c_in} input channels, which groups={groups} does not divide")
    if w_in != c_in:
        axis = "w.shape[-1]" if channels_last else "w.shape[0]"
        raise ValueError(
            f"{fn}: {axis} is {w_in} but x has {c_in} input channels; they must be equal"
        )
    _check_kernel_size(fn, ksize)
    c_out = c_out_per_group * groups
    _check_bias(fn, bias_shape, c_out)
    stride = per_dim(fn, "stride", stride, nd, minimum=1)
    dilation = per_dim(fn, "dilation", dilation, nd, minimum=1)
    output_padding = per_dim(fn, "output_padding", output_padding, nd, minimum=0)
    if isinstance(padding, str):
        if padding.lower() != "valid":
            raise ValueError(
                f"{fn}: padding={padding!r} is not supported; give explicit padding or "
                f"'valid' (the output size of a transposed convolution is set by stride, "
                f"padding and output_padding)"
            )
        padding = 0
    pads = _padding_pairs(fn, padding, nd)
    for i, (op, s, d) in enumerate(zip(output_padding, stride, dilation)):
        if op >= max(s, d):
            raise ValueError(
                f"{fn}: output_padding {op} in spatial dim {i} must be smaller than "
                f"stride ({s}) or dilation ({d})"
            )
    for i, (m, k, s, d, (lo, hi), op) in enumerate(
        zip(size, ksize, stride, dilation, pads, output_padding)
    ):
        out = (m - 1) * s - lo - hi + d * (k - 1) + op + 1
        if out < 1 and m == 0:
            raise ValueError(
                f"{fn}: x has size 0 in spatial dim {i}, for which stride {s}, padding "
                f"{(lo, hi)}, dilation {d}, kernel size {k} and output_padding {op} give a "
                f"non-positive output size {out} ((n - 1) stride - low - high + dilation "
                f"(k - 1) + output_padding + 1)"
            )
        if out < 1:
            raise ValueError(
                f"{fn}: padding {(lo, hi)} leaves a non-positive output size {out} in "
                f"spatial dim {i}"
            )
    core_pads = transpose_padding(ksize, dilation, pads, output_padding)
    # an empty input dilates to no samples (as in jax.lax), where the size formula above
    # counts 1 - stride: the high padding makes up the difference (the output is zeros)
    core_pads = tuple((lo, hi - (s - 1) if m == 0 else hi)
                      for (lo, hi), s, m in zip(core_pads, stride, size))
    spec = ConvSpec(
        batch=n,
        groups=groups,
        in_channels=c_in // groups,
        out_channels=c_out_per_group,
        in_size=tuple(size),
        kernel_size=tuple(ksize),
        stride=(1,) * nd,
        padding=core_pads,
        lhs_dilation=stride,
        rhs_dilation=dilation,
        flip=True,
        dtype=np.dtype(dtype).name,
    )
    _check_sizes(fn, spec)
    return ConvLayer(spec, bool(channels_last), transpose=True)


def check_shape(fn: str, name: str, shape, expected) -> None:
    if tuple(shape) != tuple(expected):
        raise ValueError(f"{fn}: {name} has shape {tuple(shape)}, expected {tuple(expected)}")


def check_shape_arg(fn: str, name: str, shape) -> tuple[int, ...]:
    """A shape argument: a sequence of non-negative ints."""
    if not (
        isinstance(shape, Sequence) and not isinstance(shape, str) and all(map(_is_int, shape))
    ):
        if hasattr(shape, "shape") and hasattr(shape, "dtype"):  # an array, not its shape
            got = f"an array of shape {tuple(shape.shape)} (pass its .shape)"
        else:
            got = repr(shape)
        raise TypeError(f"{fn}: {name} must be a sequence of ints, got {got}")
    return tuple(map(int, shape))


# ---------------------------------------------------------------------------------------
# Signal-processing convolution (convolve / correlate)
# ---------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class SignalPlan:
    """How `convolve(a, b, mode, axes)` maps onto one canonical `ConvSpec`.

    The convolution takes a signal ``x`` and a kernel ``k``: ``a`` and ``b``, or ``b``
    and ``a`` when ``swap`` (``"valid"`` with ``b`` the larger one; convolution
    commutes). Every field after ``swap`` describes ``x`` and ``k``, never ``a`` and
    ``b``: the non-convolved axes broadcast, an axis where only ``x`` varies goes to the
    batch, one where both vary to the groups, one where only ``k`` varies to the output
    channels.
    """

    spec: ConvSpec
    mode: str
    axes: tuple[int, ...]        # convolved axes, in increasing order
    swap: bool                   # x is b and k is a
    x_only: tuple[int, ...]      # broadcast axes where only x varies (batch)
    both: tuple[int, ...]        # broadcast axes where both vary (groups)
    k_only: tuple[int, ...]      # broadcast axes where only k varies (out channels)
    out_shape: tuple[int, ...]   # the result's shape
    fold: tuple[int, ...] | None  # circular: kernel length after folding, per axis


def _signal_axes(fn: str, axes, nd: int) -> tuple[int, ...]:
    """The convolved axes, normalised and sorted: all of them when ``axes`` is None."""
    if axes is None:
        return tuple(range(nd))
    if _is_int(axes):
        axes = (axes,)
    if not (
        isinstance(axes, Sequence) and not isinstance(axes, str) and all(map(_is_int, axes))
    ):
        raise TypeError(f"{fn}: axes must be an int or a sequence of ints, got {axes!r}")
    if len(axes) == 0:
        raise ValueError(
            f"{fn}: axes cannot be empty when given, got {axes!r} (name at least one axis "
            f"to convolve, or pass None for all of them)"
        )
    for ax in axes:
        if not -nd <= ax < nd:
            raise ValueError(f"{fn}: axis {ax} is out of range for arrays of rank {nd}")
    norm = tuple(operator.index(ax) % nd for ax in axes)
    if len(set(norm)) != len(norm):
        raise ValueError(f"{fn}: axes {tuple(axes)} contains a repeated axis")
    return tuple(sorted(norm))


def signal_plan(fn: str, a_shape, b_shape, mode, axes, dtype) -> SignalPlan:
    """Validate the arguments of `convolve`/`correlate` and plan the canonical conv."""
    check_choice(fn, "mode", mode, SIGNAL_MODES)
    a_shape, b_shape = tuple(a_shape), tuple(b_shape)
    nd = len(a_shape)
    if len(b_shape) != nd:
        raise ValueError(
            f"{fn}: a has rank {nd} but b has rank {len(b_shape)}; they must be equal "
            f"(as in scipy.signal.convolve)"
        )
    axes = _signal_axes(fn, axes, nd)
    for ax in axes:
        if a_shape[ax] < 1 or b_shape[ax] < 1:
            raise ValueError(
                f"{fn}: a has length {a_shape[ax]} and b length {b_shape[ax]} along "
                f"convolved axis {ax}; both must be >= 1"
            )
    broadcast = [ax for ax in range(nd) if ax not in axes]
    for ax in broadcast:
        na, nb = a_shape[ax], b_shape[ax]
        if na != nb and 1 not in (na, nb):
            raise ValueError(
                f"{fn}: a has length {na} and b length {nb} along axis {ax}, which is not "
                f"convolved; they must be equal or one of them 1 (broadcasting)"
            )
    swap = False
    if mode == "valid":
        la = tuple(a_shape[ax] for ax in axes)
        lb = tuple(b_shape[ax] for ax in axes)
        if all(m >= k for m, k in zip(la, lb)):
            pass
        elif all(k >= m for m, k in zip(la, lb)):
            swap = True
        else:
            raise ValueError(
                f"{fn}: mode='valid' needs a or b at least as large as the other along "
                f"every convolved axis; got lengths {la} and {lb}"
            )
    # From here on only the signal x and the kernel k, in the order the convolution
    # takes them; a and b are not mentioned again.
    x_shape, k_shape = (b_shape, a_shape) if swap else (a_shape, b_shape)
    x_only, both, k_only, out_shape = [], [], [], list(x_shape)
    for ax in broadcast:
        nx, nk = x_shape[ax], k_shape[ax]
        out_shape[ax] = nk if nx == 1 else nx
        if nx == nk:
            both.append(ax)
        elif nk == 1:
            x_only.append(ax)
        else:
            k_only.append(ax)
    size = tuple(x_shape[ax] for ax in axes)
    ksize = tuple(k_shape[ax] for ax in axes)
    fold = None
    if mode == "circular":
        fold = tuple(min(k, m) for m, k in zip(size, ksize))
        out = size
        ksize = fold
        size = tuple(m + k - 1 for m, k in zip(size, ksize))  # after wrap padding
        pads = ((0, 0),) * len(axes)
    elif mode == "full":
        pads = tuple((k - 1, k - 1) for k in ksize)
        out = tuple(m + k - 1 for m, k in zip(size, ksize))
    elif mode == "same":
        pads = tuple((k - 1 - (k - 1) // 2, (k - 1) // 2) for k in ksize)
        out = size
    else:
        pads = ((0, 0),) * len(axes)
        out = tuple(m - k + 1 for m, k in zip(size, ksize))
    for ax, o in zip(axes, out):
        out_shape[ax] = o
    spec = ConvSpec(
        batch=math.prod(x_shape[ax] for ax in x_only),
        groups=math.prod(x_shape[ax] for ax in both),
        in_channels=1,
        out_channels=math.prod(k_shape[ax] for ax in k_only),
        in_size=size,
        kernel_size=ksize,
        stride=(1,) * len(axes),
        padding=pads,
        lhs_dilation=(1,) * len(axes),
        rhs_dilation=(1,) * len(axes),
        flip=True,
        dtype=np.dtype(dtype).name,
    )
    return SignalPlan(
        spec, mode, axes, swap, tuple(x_only), tuple(both), tuple(k_only),
        tuple(out_shape), fold,
    )
