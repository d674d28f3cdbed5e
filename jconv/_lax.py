"""jax.lax's convolution arguments, mapped onto one canonical `ConvSpec`.

`jconv.lax` takes the arguments of ``jax.lax.conv_general_dilated`` (and of its three
wrappers); this module validates them, reads the dimension numbers, resolves the
padding, and builds the `ConvSpec` of the call. The spec's own rules give the output
size and the padding of a transposed convolution, so each rule stays in one place.

How a call maps onto the canonical layout ``x (N, G, Ci, *S)``, ``w (G, Co, Ci, *K)``:

- the dimension numbers permute ``lhs`` to ``(N, C, *S)``, ``rhs`` to ``(O, I, *K)``
  and the result back from ``(N, O, *out)``, the spatial axes in the order of the
  kernel's spec string;
- ``feature_group_count = G`` splits ``C`` into ``(G, Ci)`` and ``O`` into ``(G, Co)``;
- ``batch_group_count = G`` splits the batch into ``(G, N / G)`` (group major) and
  ``O`` into ``(G, Co)``: output group ``g`` sums over batch block ``g`` only, which is
  a feature-grouped convolution once the group axis leaves the batch
  (``x[g N' + n, c] -> x'[n, g, c]``). This grouping is how the kernel gradient of a
  feature-grouped convolution is written in lax;
- ``lhs_dilation`` is the spec's input dilation (a transposed convolution), and
  ``transpose_kernel=True`` of ``conv_transpose`` is the spec's kernel flip;
- no spatial dims (a grouped matrix product) becomes one spatial dim of size 1.
"""

from __future__ import annotations

import dataclasses
import operator
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from ._primitive import conv_core
from ._select import compiled
from ._spec import ConvSpec, check_array, conv_padding, per_dim, transpose_padding

_PADDINGS = ("SAME", "SAME_LOWER", "VALID")


@dataclasses.dataclass(frozen=True)
class LaxConv:
    """One lax convolution: the canonical spec and the layout around it."""

    spec: ConvSpec
    lhs_perm: tuple[int, ...]  # lhs axes in (N, C, *spatial) order
    rhs_perm: tuple[int, ...]  # rhs axes in (O, I, *spatial) order
    out_perm: tuple[int, ...]  # result axes in (N, O, *spatial) order
    batch_grouped: bool  # the groups come from batch_group_count
    unit: bool  # no spatial dims: one of size 1 was added
    out_dtype: str


def _index(fn: str, name: str, value) -> int:
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{fn}: {name} must be an int, got {value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{fn}: {name} must be an int, got {value!r}") from None


def _strings_to_perms(fn: str, specs, rank: int):
    """('NHWC', 'HWIO', 'NHWC') -> the three permutations, spatial axes in rhs order."""
    roles = (("N", "C"), ("O", "I"), ("N", "C"))
    for i, (spec, (a, b)) in enumerate(zip(specs, roles)):
        if len(spec) != rank:
            raise ValueError(
                f"{fn}: dimension_numbers[{i}] is {spec!r} of length {len(spec)}; it must "
                f"have one character per axis of lhs and rhs (rank {rank})"
            )
        if spec.count(a) != 1 or spec.count(b) != 1:
            raise ValueError(
                f"{fn}: dimension_numbers[{i}] is {spec!r}; it must contain {a!r} and "
                f"{b!r} exactly once"
            )
        if len(set(spec)) != len(spec):
            raise ValueError(f"{fn}: dimension_numbers[{i}] is {spec!r}; it repeats a character")
    spatial = [set(spec) - set(pair) for spec, pair in zip(specs, roles)]
    if not spatial[0] == spatial[1] == spatial[2]:
        raise ValueError(
            f"{fn}: dimension_numbers {tuple(specs)} must name the same spatial axes in "
            f"lhs, rhs and output"
        )
    rhs_spec = specs[1]
    order = [c for c in rhs_spec if c not in roles[1]]
    return tuple(
        (spec.index(a), spec.index(b), *(spec.index(c) for c in order))
        for spec, (a, b) in zip(specs, roles)
    )


def dimension_numbers(fn: str, dimension_numbers, rank: int):
    """The three axis permutations (lhs, rhs, out) of ``dimension_numbers``."""
    if dimension_numbers is None:
        iota = tuple(range(rank))
        return iota, iota, iota
    if isinstance(dimension_numbers, jax.lax.ConvDimensionNumbers):
        perms = tuple(tuple(_index(fn, "dimension_numbers", a) for a in p) for p in dimension_numbers)
        for i, p in enumerate(perms):
            if sorted(p) != list(range(rank)):
                raise ValueError(
                    f"{fn}: dimension_numbers[{i}] is {p}; it must be a permutation of "
                    f"0..{rank - 1} (the axes of lhs and rhs, rank {rank})"
                )
        return perms
    if (
        isinstance(dimension_numbers, (tuple, list))
        and len(dimension_numbers) == 3
        and all(isinstance(s, str) for s in dimension_numbers)
    ):
        return _strings_to_perms(fn, tuple(dimension_numbers), rank)
    raise TypeError(
        f"{fn}: dimension_numbers must be None, a ConvDimensionNumbers or three strings "
        f"such as ('NHWC', 'HWIO', 'NHWC'), got {dimension_numbers!r}"
    )


def _ints(fn: str, name: str, value, nd: int) -> tuple[int, ...]:
    """Strides or dilations: one int per spatial dim (or one for all), each >= 1."""
    if value is None:
        return (1,) * nd
    if hasattr(value, "__iter__") and not isinstance(value, str):
        value = tuple(value)
    return per_dim(fn, name, value, nd, minimum=1)


def _explicit_padding(fn: str, padding, nd: int):
    """``nd`` (low, high) pairs of ints (any iterables, e.g. lists or an array)."""
    try:
        pairs = tuple(tuple(p) for p in padding)
    except TypeError:
        pairs = None
    if pairs is None or len(pairs) != nd or any(len(p) != 2 for p in pairs):
        raise ValueError(
            f"{fn}: padding must be 'SAME', 'SAME_LOWER', 'VALID' or {nd} (low, high) "
            f"pairs (one per spatial dim), got {padding!r}"
        )
    return tuple((_index(fn, "padding", lo), _index(fn, "padding", hi)) for lo, hi in pairs)


def _string_padding(fn: str, padding: str) -> str:
    mode = padding.upper()
    if mode not in _PADDINGS:
        raise ValueError(
            f"{fn}: padding must be 'SAME', 'SAME_LOWER', 'VALID' or (low, high) pairs, "
            f"got {padding!r}"
        )
    return mode


def _dtypes(fn: str, lhs, rhs, preferred_element_type):
    """(compute dtype, result dtype) as lax gives them."""
    for name, a in (("lhs", lhs), ("rhs", rhs)):
        if not (hasattr(a, "dtype") and a.dtype == np.bool_):
            check_array(fn, name, a)
    if lhs.dtype != rhs.dtype:
        raise TypeError(
            f"{fn}: lhs has dtype {lhs.dtype} and rhs {rhs.dtype}; they must be equal (as in "
            f"jax.lax; cast one, or use preferred_element_type for a wider result)"
        )
    dtype = np.dtype(lhs.dtype)
    try:
        preferred = None if preferred_element_type is None else np.dtype(
            jax.dtypes.canonicalize_dtype(preferred_element_type))
    except TypeError:
        raise TypeError(
            f"{fn}: preferred_element_type must be a dtype, got {preferred_element_type!r}"
        ) from None
    if preferred is None or (dtype == np.bool_ and preferred == np.bool_):
        # a boolean convolution (AND, OR) is an integer one, then tested for non-zero
        return ("int32" if dtype == np.bool_ else dtype.name), dtype.name
    kinds = (np.integer, np.floating, np.complexfloating)
    int_to_float = jnp.issubdtype(dtype, np.integer) and jnp.issubdtype(preferred, np.floating)
    if not int_to_float:
        for kind in kinds:
            if jnp.issubdtype(dtype, kind) and not jnp.issubdtype(preferred, kind):
                raise TypeError(
                    f"{fn}: preferred_element_type {preferred.name} does not suit {dtype.name} "
                    f"operands; allowed are (integer, integer), (integer, floating), "
                    f"(floating, floating) and (complex, complex)"
                )
        if jnp.issubdtype(dtype, np.signedinteger) and not jnp.issubdtype(preferred, np.signedinteger):
            raise TypeError(
                f"{fn}: preferred_element_type {preferred.name} is unsigned but the operands "
                f"are {dtype.name}; the signedness must match"
            )
    if preferred.itemsize < dtype.itemsize:
        raise TypeError(
            f"{fn}: preferred_element_type {preferred.name} is narrower than the operands' "
            f"{dtype.name}"
        )
    return preferred.name, preferred.name


def lax_conv(
    fn: str,
    lhs,
    rhs,
    window_strides,
    padding,
    lhs_dilation=None,
    rhs_dilation=None,
    dimension_numbers_=None,
    feature_group_count=1,
    batch_group_count=1,
    preferred_element_type=None,
    *,
    flip: bool = False,
    swap_rhs_io: bool = False,
    transpose_padding_of=None,
    lhs_dilation_name: str = "lhs_dilation",
) -> LaxConv:
    """Validate a lax convolution and build its `LaxConv`.

    ``flip``/``swap_rhs_io``: the kernel is used with its spatial axes reversed and its
    in/out feature axes exchanged (``conv_transpose(transpose_kernel=True)``).
    ``transpose_padding_of``: ``padding`` is ``conv_transpose``'s and this is its
    ``use_consistent_padding``; as in lax, exactly ``'SAME'`` and ``'VALID'`` (and, when
    consistent, explicit pairs) name the forward convolution's padding, resolved by
    `_transposed_padding`, and anything else is read as `conv_general_dilated` reads it.
    ``lhs_dilation_name``: what the caller calls the input dilation (in messages).
    """
    compute, out_dtype = _dtypes(fn, lhs, rhs, preferred_element_type)
    if lhs.ndim != rhs.ndim or lhs.ndim < 2:
        raise ValueError(
            f"{fn}: lhs has shape {tuple(lhs.shape)} and rhs {tuple(rhs.shape)}; they must "
            f"have the same rank, at least 2 (batch and feature axes, then the spatial dims)"
        )
    rank = lhs.ndim
    nd = rank - 2
    lhs_perm, rhs_perm, out_perm = dimension_numbers(fn, dimension_numbers_, rank)
    if swap_rhs_io:
        rhs_perm = (rhs_perm[1], rhs_perm[0], *rhs_perm[2:])
    n, c, *size = (lhs.shape[a] for a in lhs_perm)
    o, i, *ksize = (rhs.shape[a] for a in rhs_perm)
    strides = _ints(fn, "window_strides", window_strides, nd)
    ld = _ints(fn, lhs_dilation_name, lhs_dilation, nd)
    rd = _ints(fn, "rhs_dilation", rhs_dilation, nd)
    fgc = _index(fn, "feature_group_count", feature_group_count)
    bgc = _index(fn, "batch_group_count", batch_group_count)
    _check_groups(fn, n, c, o, i, fgc, bgc)

    if transpose_padding_of is not None and (
        transpose_padding_of or (isinstance(padding, str) and padding in ("SAME", "VALID"))
    ):
        pads = _transposed_padding(fn, padding, ksize, ld, rd, transpose_padding_of)
    elif isinstance(padding, str):
        mode = _string_padding(fn, padding)
        if any(d != 1 for d in ld) and lhs_dilation_name == "strides":
            raise ValueError(
                f"{fn}: padding={padding!r} is not supported with strides={tuple(ld)}; the "
                f"strings are 'SAME' and 'VALID', in upper case (as in jax.lax)"
            )
        if any(d != 1 for d in ld):
            raise ValueError(
                f"{fn}: padding={padding!r} with lhs_dilation={tuple(ld)} is not supported (as in "
                f"jax.lax); give (low, high) pairs, or use jconv.lax.conv_transpose"
            )
        same = "valid" if mode == "VALID" else "same"
        pads = conv_padding(fn, same, size, ksize, strides, rd)
        if mode == "SAME_LOWER":  # the odd element at the low end
            pads = tuple((hi, lo) for lo, hi in pads)
    else:
        pads = _explicit_padding(fn, padding, nd)

    groups = max(fgc, bgc)
    unit = nd == 0
    if unit:
        size, ksize, strides, pads, ld, rd = [1], [1], (1,), ((0, 0),), (1,), (1,)
    spec = ConvSpec(
        batch=n // bgc,
        groups=groups,
        in_channels=c // fgc,
        out_channels=o // groups,
        in_size=tuple(size),
        kernel_size=tuple(ksize),
        stride=tuple(strides),
        padding=tuple(pads),
        lhs_dilation=tuple(ld),
        rhs_dilation=tuple(rd),
        flip=flip,
        dtype=compute,
    )
    for dim, (e, pad) in enumerate(zip(spec.padded_size, spec.padding)):
        if e < 0:
            raise ValueError(
                f"{fn}: padding {pad} leaves a negative input size {e} in spatial dim {dim} "
                f"(input size {spec.in_size[dim]}, lhs_dilation {spec.lhs_dilation[dim]})"
            )
    return LaxConv(spec, lhs_perm, rhs_perm, out_perm, bgc > 1, unit, out_dtype)


def _check_groups(fn, n, c, o, i, fgc, bgc) -> None:
    for name, g in (("feature_group_count", fgc), ("batch_group_count", bgc)):
        if g < 1:
            raise ValueError(f"{fn}: {name} must be >= 1, got {g}")
    if fgc > 1 and bgc > 1:
        raise ValueError(
            f"{fn}: feature_group_count={fgc} and batch_group_count={bgc}; at most one of "
            f"them may be > 1"
        )
    if c % fgc:
        raise ValueError(
            f"{fn}: lhs has {c} features, which feature_group_count={fgc} does not divide"
        )
    if c // fgc != i:
        raise ValueError(
            f"{fn}: rhs has {i} input features but lhs has {c} features and "
            f"feature_group_count={fgc}, so it must be {c // fgc}"
        )
    if n % bgc:
        raise ValueError(
            f"{fn}: lhs has batch size {n}, which batch_group_count={bgc} does not divide"
        )
    for name, g in (("feature_group_count", fgc), ("batch_group_count", bgc)):
        if o % g:
            raise ValueError(
                f"{fn}: rhs has {o} output features, which {name}={g} does not divide"
            )


def _transposed_padding(fn, padding, ksize, strides, rd, consistent: bool):
    """The core padding of ``jax.lax.conv_transpose``.

    ``'SAME'``/``'VALID'`` (and, with ``use_consistent_padding``, explicit pairs) name the
    padding of the forward convolution this one transposes. ``'VALID'``: output
    ``n s + max(k' - s, 0)`` for the dilated kernel extent ``k'``; ``'SAME'``: output
    ``n s``, padded by ``k' + s - 2`` in all, ``k' - 1`` of it at the low end when
    ``s > k' - 1`` and half (rounded up) otherwise. Explicit pairs without
    ``use_consistent_padding`` are the core padding itself.
    """
    nd = len(ksize)
    dk = [ConvSpec.dilated(k, d) for k, d in zip(ksize, rd)]
    if isinstance(padding, str):
        mode = padding if padding in ("SAME", "VALID") else None
        if mode is None:
            raise ValueError(
                f"{fn}: padding must be 'SAME', 'VALID' or (low, high) pairs with "
                f"use_consistent_padding=True, got {padding!r}"
            )
        pads = []
        for k, s in zip(dk, strides):
            if mode == "VALID":
                total, low = k + s - 2 + max(k - s, 0), k - 1
            else:
                total = k + s - 2
                low = k - 1 if s > k - 1 else -(-total // 2)
            pads.append((low, total - low))
        return tuple(pads)
    pairs = _explicit_padding(fn, padding, nd)
    if consistent:
        return transpose_padding(ksize, rd, pairs, (0,) * nd)
    return pairs


def channels_last_numbers(rank: int) -> tuple[str, str, str]:
    """``conv_transpose``'s default layout: ``('NH..C', 'H..IO', 'NH..C')``."""
    spatial = "HWDEFGJKLMPQRSTUVXYZ"[: max(rank - 2, 0)]
    return f"N{spatial}C", f"{spatial}IO", f"N{spatial}C"


def _canonical_lhs(lhs, conv: LaxConv):
    s = conv.spec
    x = jnp.transpose(lhs, conv.lhs_perm)  # (N, C, *S)
    if conv.unit:
        x = x[..., None]
    if conv.batch_grouped:  # (G N', C, *S) -> (N', G, C, *S)
        x = jnp.swapaxes(x.reshape(s.groups, s.batch, s.in_channels, *s.in_size), 0, 1)
    return x.reshape(s.x_shape)


def _canonical_rhs(rhs, conv: LaxConv):
    w = jnp.transpose(rhs, conv.rhs_perm)  # (O, I, *K)
    if conv.unit:
        w = w[..., None]
    return w.reshape(conv.spec.w_shape)


@compiled
@partial(jax.jit, static_argnames=("conv", "precision", "fn"))
def run(lhs, rhs, *, conv: LaxConv, precision, fn):
    """The convolution ``conv`` through jconv's primitive, in the caller's layout."""
    s = conv.spec
    dtype = jnp.dtype(s.dtype)
    if s.is_empty:  # an empty operand or result: the sum has no terms
        y = jnp.zeros(s.y_shape, dtype)
    else:
        x = _canonical_lhs(lhs.astype(dtype), conv)
        w = _canonical_rhs(rhs.astype(dtype), conv)
        y = conv_core(x, w, s, "auto", precision, fn=fn)
    y = y.reshape(s.batch, s.groups * s.out_channels, *s.out_size)
    if conv.unit:
        y = y[..., 0]
    y = jnp.transpose(y, tuple(np.argsort(conv.out_perm)))
    if conv.out_dtype == "bool":
        return y != 0
    return y.astype(conv.out_dtype)
