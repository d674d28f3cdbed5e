r"""Drop-in replacements for ``jax.lax``'s convolutions, computed by jconv.

Each function here has the signature and semantics of the ``jax.lax`` function of the
same name, so code written for lax runs on jconv by swapping the module, and a library
that takes the convolution as an argument gets it directly:

```python
import flax.linen as nn
import jconv

layer = nn.Conv(64, (3, 3), conv_general_dilated=jconv.lax.conv_general_dilated)

from jconv import lax   # instead of: from jax import lax
y = lax.conv_general_dilated(x, w, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))
```

The work goes through the same canonical convolution as `jconv.conv`: the algorithm of
each pass (forward, input gradient, kernel gradient) is chosen by jconv's selector, and
reverse-mode differentiation runs jconv's own VJPs. Every dimension-numbers form, both
kinds of grouping, input (``lhs``) and kernel (``rhs``) dilation, every padding form,
``precision`` and ``preferred_element_type`` are supported, for any number of spatial
dimensions (none included). Invalid calls raise before any computation, with a message
that names the function, e.g. ``jconv.lax.conv_general_dilated: ...``.

Example:
    >>> import jax, jax.numpy as jnp, jconv
    >>> x = jnp.ones((2, 3, 9, 10)); w = jnp.ones((4, 3, 4, 5))
    >>> y = jconv.lax.conv(x, w, (1, 2), "SAME")
    >>> y.shape
    (2, 4, 9, 5)
    >>> bool(jnp.allclose(y, jax.lax.conv(x, w, (1, 2), "SAME")))
    True
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
from jax.lax import ConvGeneralDilatedDimensionNumbers, PrecisionLike
from jax.sharding import NamedSharding, PartitionSpec
from jax.typing import DTypeLike

from . import _lax
from ._spec import check_precision

__all__ = ["conv", "conv_general_dilated", "conv_transpose", "conv_with_general_padding"]


def _call(fn, lhs, rhs, window_strides, padding, lhs_dilation=None, rhs_dilation=None,
          dimension_numbers=None, feature_group_count=1, batch_group_count=1, precision=None,
          preferred_element_type=None, **kwargs):
    """Validate, build the spec, and run it (the shared body of the public functions)."""
    conv = _lax.lax_conv(
        fn, lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation, dimension_numbers,
        feature_group_count, batch_group_count, preferred_element_type, **kwargs,
    )
    return _lax.run(lhs, rhs, conv=conv, precision=check_precision(fn, precision), fn=fn)


def conv_general_dilated(
    lhs: jax.Array,
    rhs: jax.Array,
    window_strides: Sequence[int],
    padding: str | Sequence[tuple[int, int]],
    lhs_dilation: Sequence[int] | None = None,
    rhs_dilation: Sequence[int] | None = None,
    dimension_numbers: ConvGeneralDilatedDimensionNumbers = None,
    feature_group_count: int = 1,
    batch_group_count: int = 1,
    precision: PrecisionLike = None,
    preferred_element_type: DTypeLike | None = None,
    out_sharding: NamedSharding | PartitionSpec | None = None,
) -> jax.Array:
    r"""General N-d convolution with strides, padding, input and kernel dilation, groups.

    In the canonical order (``lhs`` as ``(N, C, *S)``, ``rhs`` as ``(O, I, *K)``), with
    ``x`` the input dilated by ``lhs_dilation`` (``ld - 1`` zeros between neighbours)
    and padded (negative amounts crop), per spatial dim

    $$y[n, o, p] = \sum_{c \in \text{group}(o)} \sum_t
      x[n, c, p \cdot s + t \cdot d]\; w[o, c, t].$$

    Matches ``jax.lax.conv_general_dilated`` (same signature and results).

    Args:
        lhs: the input, rank ``n + 2``.
        rhs: the kernel, rank ``n + 2``.
        window_strides: ``n`` strides (>= 1).
        padding: ``'SAME'`` (output ``ceil(size / stride)``, the odd padding element at
            the high end), ``'SAME_LOWER'`` (the odd element at the low end), ``'VALID'``
            (none), or ``n`` ``(low, high)`` pairs. Strings need ``lhs_dilation`` of 1.
        lhs_dilation: ``None`` or ``n`` input dilations (>= 1); more than 1 is a
            transposed convolution.
        rhs_dilation: ``None`` or ``n`` kernel dilations (>= 1), "atrous" convolution.
        dimension_numbers: ``None`` (``('NCH..', 'OIH..', 'NCH..')``), a
            ``jax.lax.ConvDimensionNumbers``, or three strings such as
            ``('NHWC', 'HWIO', 'NHWC')``: ``N`` batch, ``C`` features, ``O``/``I`` the
            kernel's output/input features, other letters the spatial dims. Strides,
            padding and dilations follow the order of the spatial letters in the kernel's
            string.
        feature_group_count: ``G`` splits the input features into ``G`` blocks and the
            kernel's output features into ``G`` blocks; block ``g`` of the output sees
            block ``g`` of the input (``G == C`` is depthwise).
        batch_group_count: ``G`` splits the batch into ``G`` blocks (block-major) and the
            kernel's output features into ``G`` blocks; output feature block ``g`` sums
            over batch block ``g``, and the result has batch ``N / G``. (The kernel
            gradient of a grouped convolution has this form.) At most one of the two
            group counts may exceed 1.
        precision: ``None``, a ``jax.lax.Precision``, its name, or a pair of these;
            passed to jconv's contractions.
        preferred_element_type: the result dtype, at least as wide as the operands' and of
            a compatible kind (integer to integer or floating, floating to floating,
            complex to complex); the sum is computed in it.
        out_sharding: ``None``, or a sharding (``NamedSharding``, or a
            ``PartitionSpec`` under a mesh) for the result.

    Returns:
        The convolution, in the layout of ``dimension_numbers``' output string, with per
        spatial dim ``max(floor((ld (n - 1) + 1 + lo + hi - d (k - 1) - 1) / s) + 1, 0)``
        positions, and dtype ``preferred_element_type`` or that of the operands.

    Raises:
        TypeError: non-array or non-numeric operands, different operand dtypes, an
            unsuitable ``preferred_element_type``, or ``dimension_numbers`` of another
            type.
        ValueError: dimension numbers that do not fit the operands, mismatched ranks,
            features or groups, a non-positive stride or dilation, a malformed padding or
            precision, string padding with ``lhs_dilation``, or a padding that leaves a
            negative input size.

    Example:
        >>> import jax, jax.numpy as jnp, jconv
        >>> x = jnp.ones((1, 8, 8, 4)); w = jnp.ones((3, 3, 2, 6))
        >>> dn = ("NHWC", "HWIO", "NHWC")
        >>> y = jconv.lax.conv_general_dilated(x, w, (2, 2), "SAME", dimension_numbers=dn,
        ...                                    feature_group_count=2)
        >>> y.shape
        (1, 4, 4, 6)
        >>> ref = jax.lax.conv_general_dilated(x, w, (2, 2), "SAME", dimension_numbers=dn,
        ...                                    feature_group_count=2)
        >>> bool(jnp.allclose(y, ref))
        True
    """
    y = _call(
        "jconv.lax.conv_general_dilated", lhs, rhs, window_strides, padding, lhs_dilation,
        rhs_dilation, dimension_numbers, feature_group_count, batch_group_count, precision,
        preferred_element_type,
    )
    return y if out_sharding is None else jax.sharding.reshard(y, out_sharding)


def conv(
    lhs: jax.Array,
    rhs: jax.Array,
    window_strides: Sequence[int],
    padding: str,
    precision: PrecisionLike = None,
    preferred_element_type: DTypeLike | None = None,
) -> jax.Array:
    """N-d convolution in the ``NCH..``/``OIH..`` layout with strides and string padding.

    Matches ``jax.lax.conv``: `conv_general_dilated` without dilation or groups, in the
    default layout (input ``(N, C, *S)``, kernel ``(O, C, *K)``).

    Args:
        lhs: the input ``(N, C, *S)``.
        rhs: the kernel ``(O, C, *K)``.
        window_strides: one stride per spatial dim.
        padding: ``'SAME'``, ``'SAME_LOWER'`` or ``'VALID'`` (``(low, high)`` pairs are
            accepted too).
        precision, preferred_element_type: as for `conv_general_dilated`.

    Returns:
        ``(N, O, *out)``.

    Raises:
        TypeError, ValueError: as `conv_general_dilated`.

    Example:
        >>> import jax.numpy as jnp, jconv
        >>> x = jnp.ones((2, 3, 9, 10)); w = jnp.ones((4, 3, 4, 5))
        >>> jconv.lax.conv(x, w, (2, 1), "VALID").shape
        (2, 4, 3, 6)
    """
    return _call(
        "jconv.lax.conv", lhs, rhs, window_strides, padding, precision=precision,
        preferred_element_type=preferred_element_type,
    )


def conv_with_general_padding(
    lhs: jax.Array,
    rhs: jax.Array,
    window_strides: Sequence[int],
    padding: str | Sequence[tuple[int, int]],
    lhs_dilation: Sequence[int] | None,
    rhs_dilation: Sequence[int] | None,
    precision: PrecisionLike = None,
    preferred_element_type: DTypeLike | None = None,
) -> jax.Array:
    """N-d convolution in the ``NCH..``/``OIH..`` layout with any padding and dilations.

    Matches ``jax.lax.conv_with_general_padding``: `conv_general_dilated` without
    groups, in the default layout.

    Args:
        lhs: the input ``(N, C, *S)``.
        rhs: the kernel ``(O, C, *K)``.
        window_strides: one stride per spatial dim.
        padding: ``'SAME'``, ``'SAME_LOWER'``, ``'VALID'`` or one ``(low, high)`` pair per
            spatial dim.
        lhs_dilation, rhs_dilation: ``None`` or one dilation per spatial dim.
        precision, preferred_element_type: as for `conv_general_dilated`.

    Returns:
        ``(N, O, *out)``.

    Raises:
        TypeError, ValueError: as `conv_general_dilated`.

    Example:
        >>> import jax.numpy as jnp, jconv
        >>> x = jnp.ones((1, 2, 5, 5)); w = jnp.ones((3, 2, 3, 3))
        >>> jconv.lax.conv_with_general_padding(x, w, (1, 1), ((1, 2), (2, 0)),
        ...                                     (2, 2), (1, 2)).shape
        (1, 3, 10, 7)
    """
    return _call(
        "jconv.lax.conv_with_general_padding", lhs, rhs, window_strides, padding,
        lhs_dilation, rhs_dilation, precision=precision,
        preferred_element_type=preferred_element_type,
    )


def conv_transpose(
    lhs: jax.Array,
    rhs: jax.Array,
    strides: Sequence[int],
    padding: str | Sequence[tuple[int, int]],
    rhs_dilation: Sequence[int] | None = None,
    dimension_numbers: ConvGeneralDilatedDimensionNumbers = None,
    transpose_kernel: bool = False,
    precision: PrecisionLike = None,
    preferred_element_type: DTypeLike | None = None,
    use_consistent_padding: bool = False,
) -> jax.Array:
    """N-d transposed convolution ("fractionally strided"), as Keras and Flax define it.

    A convolution of ``lhs`` dilated by ``strides`` (``s - 1`` zeros between
    neighbours) with stride 1. Matches ``jax.lax.conv_transpose``; with
    ``transpose_kernel=True`` and a forward padding (``'SAME'``, ``'VALID'``, or pairs
    with ``use_consistent_padding``) it is the input gradient of the
    `conv_general_dilated` with these strides and padding (TensorFlow's
    ``Conv2DTranspose``); otherwise the kernel is used as given.

    Args:
        lhs: the input, rank ``n + 2``.
        rhs: the kernel, rank ``n + 2``; with ``transpose_kernel`` its spatial axes are
            reversed and its ``I``/``O`` axes exchanged before use.
        strides: ``n`` strides, the dilation of ``lhs``.
        padding: ``'SAME'`` (output ``n s``) or ``'VALID'`` (output
            ``n s + max(k' - s, 0)``, ``k'`` the dilated kernel extent), which name the
            padding of the forward convolution; or ``(low, high)`` pairs: with
            ``use_consistent_padding`` also the forward convolution's (the core padding
            is ``k' - 1 - p``, PyTorch's convention), otherwise the core padding itself.
        rhs_dilation: ``None`` or ``n`` kernel dilations.
        dimension_numbers: as for `conv_general_dilated`; by default channels last,
            ``('NH..C', 'H..IO', 'NH..C')`` (``('NHWC', 'HWIO', 'NHWC')`` in 2-d).
        transpose_kernel: flip the kernel's spatial axes and exchange its feature axes.
        precision, preferred_element_type: as for `conv_general_dilated`.
        use_consistent_padding: read explicit pairs as the forward convolution's padding.

    Returns:
        The transposed convolution, in the output layout of ``dimension_numbers``.

    Raises:
        TypeError, ValueError: as `conv_general_dilated`.

    Example:
        >>> import jax, jax.numpy as jnp, jconv
        >>> x = jnp.ones((1, 5, 5, 4)); w = jnp.ones((3, 3, 4, 2))
        >>> y = jconv.lax.conv_transpose(x, w, (2, 2), "SAME")
        >>> y.shape
        (1, 10, 10, 2)
        >>> bool(jnp.allclose(y, jax.lax.conv_transpose(x, w, (2, 2), "SAME")))
        True
    """
    fn = "jconv.lax.conv_transpose"
    if dimension_numbers is None:
        rank = getattr(lhs, "ndim", None)
        dimension_numbers = None if rank is None else _lax.channels_last_numbers(rank)
    return _call(
        fn, lhs, rhs, (1,) * max(getattr(lhs, "ndim", 2) - 2, 0), padding, strides,
        rhs_dilation, dimension_numbers, precision=precision,
        preferred_element_type=preferred_element_type, flip=bool(transpose_kernel),
        swap_rhs_io=bool(transpose_kernel), transpose_padding_of=bool(use_consistent_padding),
        lhs_dilation_name="strides",
    )
