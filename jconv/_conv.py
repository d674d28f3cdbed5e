"""The public functions: layouts in, one canonical primitive call, layouts out."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Literal

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike, DTypeLike

from ._primitive import conv_core, input_grad_core, kernel_grad_core
from ._select import (
    PLATFORMS,
    Plan,
    check_algorithm,
    check_forced,
    compiled,
    explain_spec,
    is_differentiable,
)
from ._spec import (
    ConvLayer,
    check_array,
    check_choice,
    check_dtype,
    check_flag,
    check_precision,
    check_shape,
    check_shape_arg,
    conv_layer,
    conv_transpose_layer,
    signal_plan,
)

_NUMPY_PAD_MODE = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}
_STATIC = ("layer", "algorithm", "precision", "fn")


# -- layout conversions between the user's arrays and the canonical ones ------------------



# The argument types of the public functions (each value's rules are in `_spec`).
IntOrInts = int | Sequence[int]
"""One int for every spatial dim, or one per dim."""
Padding = (int | Sequence[int] | Sequence[tuple[int, int]]
           | Literal["valid", "same", "full"])
"""An int, one int or one ``(low, high)`` pair per spatial dim, or a named padding."""
PaddingMode = Literal["zeros", "reflect", "replicate", "circular"]
SignalMode = Literal["full", "same", "valid", "circular"]
Precision = jax.lax.PrecisionLike


def _spatial(layer: ConvLayer) -> tuple[int, ...]:
    return tuple(range(2, 2 + layer.spec.ndim))


def _mode_pad(x, layer: ConvLayer):
    pads = [(0, 0), (0, 0), *layer.mode_padding]
    return jnp.pad(x, pads, mode=_NUMPY_PAD_MODE[layer.padding_mode])


def _canonical_input(x, layer: ConvLayer):
    if layer.channels_last:
        x = jnp.moveaxis(x, -1, 1)
    if layer.mode_padding is not None:
        x = _mode_pad(x, layer)
    return x.reshape(layer.spec.x_shape)


def _user_input(dx, layer: ConvLayer):
    """Inverse (transpose) of `_canonical_input`: canonical input gradient -> user layout."""
    s = layer.spec
    dx = dx.reshape(s.batch, s.groups * s.in_channels, *s.in_size)
    if layer.mode_padding is not None:
        shape = (s.batch, s.groups * s.in_channels, *layer.input_size)
        (dx,) = jax.linear_transpose(
            partial(_mode_pad, layer=layer), jax.ShapeDtypeStruct(shape, dx.dtype)
        )(dx)
    return jnp.moveaxis(dx, 1, -1) if layer.channels_last else dx


def _kernel_axes(layer: ConvLayer) -> tuple[int, ...]:
    """Permutation taking a channels-last kernel (*K, a, b) to (b, a, *K)."""
    nd = layer.spec.ndim
    return (nd + 1, nd, *range(nd))


def _canonical_kernel(w, layer: ConvLayer):
    s = layer.spec
    if layer.channels_last:
        w = jnp.transpose(w, _kernel_axes(layer))
    if layer.transpose:  # (G Ci, Co, *K) -> (G, Co, Ci, *K)
        return jnp.swapaxes(w.reshape(s.groups, s.in_channels, s.out_channels, *s.kernel_size), 1, 2)
    return w.reshape(s.w_shape)


def _user_kernel(dw, layer: ConvLayer):
    """Inverse of `_canonical_kernel`."""
    s = layer.spec
    if layer.transpose:
        dw = jnp.swapaxes(dw, 1, 2).reshape(s.groups * s.in_channels, s.out_channels, *s.kernel_size)
    else:
        dw = dw.reshape(s.groups * s.out_channels, s.in_channels, *s.kernel_size)
    if layer.channels_last:
        nd = s.ndim
        dw = jnp.transpose(dw, (*range(2, 2 + nd), 1, 0))
    return dw


def _canonical_output(y, layer: ConvLayer):
    if layer.channels_last:
        y = jnp.moveaxis(y, -1, 1)
    return y.reshape(layer.spec.y_shape)


def _user_output(y, layer: ConvLayer):
    s = layer.spec
    y = y.reshape(s.batch, s.groups * s.out_channels, *s.out_size)
    return jnp.moveaxis(y, 1, -1) if layer.channels_last else y


@compiled
@partial(jax.jit, static_argnames=_STATIC)
def _layer_forward(x, w, bias, *, layer: ConvLayer, algorithm, precision, fn):
    dtype = jnp.dtype(layer.spec.dtype)
    y = conv_core(
        _canonical_input(x.astype(dtype), layer),
        _canonical_kernel(w.astype(dtype), layer),
        layer.spec, algorithm, precision, fn=fn,
    )
    y = _user_output(y, layer)
    if bias is not None:
        axis = -1 if layer.channels_last else 1
        shape = [1] * y.ndim
        shape[axis] = -1
        y = y + bias.astype(dtype).reshape(shape)
    return y


@compiled
@partial(jax.jit, static_argnames=_STATIC)
def _layer_input_grad(ct, w, *, layer: ConvLayer, algorithm, precision, fn):
    dtype = jnp.dtype(layer.spec.dtype)
    dx = input_grad_core(
        _canonical_output(ct.astype(dtype), layer),
        _canonical_kernel(w.astype(dtype), layer),
        layer.spec, algorithm, precision, fn,
    )
    return _user_input(dx, layer)


@compiled
@partial(jax.jit, static_argnames=_STATIC)
def _layer_kernel_grad(x, ct, *, layer: ConvLayer, algorithm, precision, fn):
    dtype = jnp.dtype(layer.spec.dtype)
    dw = kernel_grad_core(
        _canonical_input(x.astype(dtype), layer),
        _canonical_output(ct.astype(dtype), layer),
        layer.spec, algorithm, precision, fn,
    )
    return _user_kernel(dw, layer)


def _arrays(fn: str, **arrays):
    """Check the operands (only ``bias`` may be None); their promoted dtype."""
    for name, a in arrays.items():
        if a is not None or name != "bias":
            check_array(fn, name, a)
    return jnp.result_type(*(a for a in arrays.values() if a is not None))


def _check_forced(fn: str, layer: ConvLayer, algorithm: str) -> None:
    check_algorithm(fn, algorithm)
    check_forced(fn, layer.spec, algorithm, "forward")


# -- public API -------------------------------------------------------------------------


def conv(
    x: ArrayLike,
    w: ArrayLike,
    bias: ArrayLike | None = None,
    *,
    stride: IntOrInts = 1,
    padding: Padding = 0,
    dilation: IntOrInts = 1,
    groups: int = 1,
    padding_mode: PaddingMode = "zeros",
    channels_last: bool = False,
    algorithm: str = "auto",
    precision: Precision = None,
) -> jax.Array:
    r"""N-d convolution layer (a cross-correlation), with groups, stride and dilation.

    $$y[n, o, p] = b[o] + \sum_{c \in \text{group}(o)} \sum_t
      w[o, c, t]\, x_{\text{pad}}[n, c, p \cdot s + t \cdot d]$$

    Equivalent to ``torch.nn.functional.conv{1,2,3}d`` and to
    ``jax.lax.conv_general_dilated`` with ``feature_group_count=groups``, for any
    number of spatial dimensions.

    Args:
        x: input ``(N, C_in, *spatial)``, or ``(N, *spatial, C_in)`` with ``channels_last``.
        w: kernel ``(C_out, C_in // groups, *kernel)``, or ``(*kernel, C_in // groups, C_out)``
            with ``channels_last``.
        bias: optional ``(C_out,)``, added to every output position.
        stride: int or one int per spatial dim (>= 1).
        padding: int; one int per dim; one ``(low, high)`` pair per dim (negative crops);
            ``"valid"``; ``"same"`` (XLA's SAME: output size ``ceil(n / stride)``, odd
            padding at the high end); or ``"full"`` (``dilation * (k - 1)`` each side).
        dilation: kernel dilation, int or one int per dim (>= 1).
        groups: channel groups; both channel counts must be divisible by it.
            ``groups == C_in`` is depthwise (any channel multiplier).
        padding_mode: ``"zeros"``, ``"reflect"``, ``"replicate"`` or ``"circular"``
            (PyTorch's meanings).
        channels_last: NHWC/HWIO layout (Flax, ``lax``) instead of NCHW/OIHW.
        algorithm: ``"auto"`` (per pass, the cheapest by the calibrated cost model among
            the algorithms within `jconv.set_workspace_limit`), ``"measure"`` (per pass,
            time the candidates once on random data of these shapes and cache the
            fastest, like cuDNN's benchmark mode), or a name from `jconv.algorithms`.
            The same policy or name also applies to both gradient passes (input and
            kernel gradient) of reverse-mode differentiation; a forced algorithm that
            cannot run a gradient pass raises when that pass is traced (e.g. under
            ``jax.grad``).
        precision: passed to the contractions (``jax.lax.Precision``).

    Returns:
        ``(N, C_out, *out)`` (or channels last), per dim
        ``out = floor((n + lo + hi - dilation (k - 1) - 1) / stride) + 1``.
        Zero-size axes (batch, channels, an input spatial dim) are allowed, as in
        ``jax.lax``: an empty operand gives zeros plus the bias, and its gradients are
        zeros; no algorithm runs, so a forced one is not checked.

    Raises:
        TypeError: a non-array operand or a wrongly typed argument.
        ValueError: inconsistent shapes, channels or groups, a non-positive stride or
            dilation, a kernel with no taps along a dim, a padding that leaves no room
            for the kernel (also for an empty input: where ``jax.lax`` returns an empty
            result, jconv raises), a non-zero ``padding_mode`` on an empty input dim, an
            unknown option, or a forced algorithm that cannot run this configuration.

    Example:
        >>> import jax.numpy as jnp, jconv
        >>> x = jnp.ones((1, 4, 8, 8)); w = jnp.ones((6, 2, 3, 3))
        >>> jconv.conv(x, w, stride=2, padding="same", groups=2).shape
        (1, 6, 4, 4)
    """
    fn = "jconv.conv"
    precision = check_precision(fn, precision)
    dtype = _arrays(fn, x=x, w=w, bias=bias)
    layer = conv_layer(
        fn, x.shape, w.shape, dtype, bias_shape=None if bias is None else bias.shape,
        stride=stride, padding=padding, dilation=dilation, groups=groups,
        padding_mode=padding_mode, channels_last=channels_last,
    )
    _check_forced(fn, layer, algorithm)
    return _layer_forward(
        x, w, bias, layer=layer, algorithm=algorithm, precision=precision, fn=fn
    )


def conv_transpose(
    x: ArrayLike,
    w: ArrayLike,
    bias: ArrayLike | None = None,
    *,
    stride: IntOrInts = 1,
    padding: IntOrInts | Sequence[tuple[int, int]] | Literal["valid"] = 0,
    output_padding: IntOrInts = 0,
    dilation: IntOrInts = 1,
    groups: int = 1,
    channels_last: bool = False,
    algorithm: str = "auto",
    precision: Precision = None,
) -> jax.Array:
    r"""N-d transposed convolution: the adjoint of `conv` in its input.

    With ``M`` the matrix of ``conv(., w, stride, padding, dilation, groups)``,
    ``vec(conv_transpose(y, w)) = M^T vec(y)``, the output size per dim being
    ``(n - 1) stride - lo - hi + dilation (k - 1) + output_padding + 1``.

    Equivalent to ``torch.nn.functional.conv_transpose{1,2,3}d``.

    Args:
        x: input ``(N, C_in, *spatial)`` (or ``(N, *spatial, C_in)``).
        w: kernel ``(C_in, C_out // groups, *kernel)`` as in PyTorch, or
            ``(*kernel, C_out // groups, C_in)`` with ``channels_last`` (the HWIO kernel
            of the `conv` this transposes).
        bias: optional ``(C_out,)``.
        stride, dilation: int or one int per dim (>= 1).
        padding: int, one int per dim, one ``(low, high)`` pair per dim, or ``"valid"``;
            removes that many positions from each end of the full output.
        output_padding: extra positions at the high end, smaller than stride or dilation.
        groups: channel groups.
        channels_last: NHWC layout.
        algorithm: as in `conv`: ``"auto"``, ``"measure"`` or a name from
            `jconv.algorithms`, for this pass and both gradient passes.
        precision: passed to the contractions.

    Returns:
        ``(N, C_out, *out)`` (or channels last). For an empty input dim (``n = 0``) the
        output size is the same formula, the input gradient of ``jax.lax``'s `conv`
        with no output positions; ``jax.lax.conv_transpose``, which dilates an empty
        input to length 0, gives ``stride - 1`` more (zero) positions.

    Raises:
        TypeError, ValueError: as `conv`; also ``padding="same"``/``"full"`` and an
            ``output_padding`` not smaller than stride or dilation.

    Example:
        >>> import jax.numpy as jnp, jconv
        >>> y = jnp.ones((1, 4, 5, 5)); w = jnp.ones((4, 3, 3, 3))
        >>> jconv.conv_transpose(y, w, stride=2, padding=1, output_padding=1).shape
        (1, 3, 10, 10)
    """
    fn = "jconv.conv_transpose"
    precision = check_precision(fn, precision)
    dtype = _arrays(fn, x=x, w=w, bias=bias)
    layer = conv_transpose_layer(
        fn, x.shape, w.shape, dtype, bias_shape=None if bias is None else bias.shape,
        stride=stride, padding=padding, output_padding=output_padding,
        dilation=dilation, groups=groups, channels_last=channels_last,
    )
    _check_forced(fn, layer, algorithm)
    return _layer_forward(
        x, w, bias, layer=layer, algorithm=algorithm, precision=precision, fn=fn
    )


def conv_input_grad(
    cotangent: ArrayLike, w: ArrayLike, input_shape: Sequence[int], *, algorithm: str = "auto",
    precision: Precision = None, **conv_kwargs,
) -> jax.Array:
    r"""The input gradient (VJP in ``x``) of `conv`: ``M^T vec(cotangent)``.

    $$\frac{\partial L}{\partial x} = \text{conv\_input\_grad}\Big(\frac{\partial L}{\partial y},
      w, x.\text{shape}\Big)$$

    Equivalent to ``torch.nn.grad.conv{1,2,3}d_input``. Reverse-mode differentiation
    of `conv` runs this same computation.

    Args:
        cotangent: the output cotangent, shaped like ``conv(x, w, **conv_kwargs)``.
        w: the kernel, as for `conv`.
        input_shape: the shape of ``x``.
        algorithm, precision: as for `conv`.
        **conv_kwargs: ``stride``, ``padding``, ``dilation``, ``groups``,
            ``padding_mode``, ``channels_last`` of the forward `conv`.

    Returns:
        An array of shape ``input_shape``.

    Raises:
        TypeError, ValueError: as `conv`, and a cotangent of the wrong shape.

    Example:
        >>> import jax.numpy as jnp, jconv
        >>> dy = jnp.ones((1, 2, 3, 3)); w = jnp.ones((2, 1, 3, 3))
        >>> jconv.conv_input_grad(dy, w, (1, 1, 5, 5)).shape
        (1, 1, 5, 5)
    """
    fn = "jconv.conv_input_grad"
    precision = check_precision(fn, precision)
    dtype = _arrays(fn, cotangent=cotangent, w=w)
    input_shape = check_shape_arg(fn, "input_shape", input_shape)
    layer = conv_layer(fn, input_shape, w.shape, dtype, **conv_kwargs)
    check_shape(fn, "cotangent", cotangent.shape, layer.output_shape)
    check_algorithm(fn, algorithm)
    check_forced(fn, layer.spec.input_grad(), algorithm, "input_grad")
    return _layer_input_grad(
        cotangent, w, layer=layer, algorithm=algorithm, precision=precision, fn=fn
    )


def conv_kernel_grad(
    x: ArrayLike, cotangent: ArrayLike, kernel_shape: Sequence[int], *, algorithm: str = "auto",
    precision: Precision = None, **conv_kwargs,
) -> jax.Array:
    r"""The kernel gradient (VJP in ``w``) of `conv`: ``A^T vec(cotangent)``.

    $$\frac{\partial L}{\partial w[o, c, t]} = \sum_{n, p}
      \frac{\partial L}{\partial y[n, o, p]}\, x_{\text{pad}}[n, c, p s + t d]$$

    Equivalent to ``torch.nn.grad.conv{1,2,3}d_weight``. Reverse-mode differentiation
    of `conv` runs this same computation.

    Args:
        x: the forward input.
        cotangent: the output cotangent, shaped like ``conv(x, w, **conv_kwargs)``.
        kernel_shape: the shape of ``w``.
        algorithm, precision: as for `conv`.
        **conv_kwargs: ``stride``, ``padding``, ``dilation``, ``groups``,
            ``padding_mode``, ``channels_last`` of the forward `conv`.

    Returns:
        An array of shape ``kernel_shape``.

    Raises:
        TypeError, ValueError: as `conv`, and a cotangent of the wrong shape.

    Example:
        >>> import jax.numpy as jnp, jconv
        >>> x = jnp.ones((1, 1, 5, 5)); dy = jnp.ones((1, 2, 3, 3))
        >>> jconv.conv_kernel_grad(x, dy, (2, 1, 3, 3)).shape
        (2, 1, 3, 3)
    """
    fn = "jconv.conv_kernel_grad"
    precision = check_precision(fn, precision)
    dtype = _arrays(fn, x=x, cotangent=cotangent)
    kernel_shape = check_shape_arg(fn, "kernel_shape", kernel_shape)
    layer = conv_layer(fn, x.shape, kernel_shape, dtype, **conv_kwargs)
    check_shape(fn, "cotangent", cotangent.shape, layer.output_shape)
    check_algorithm(fn, algorithm)
    check_forced(fn, layer.spec.kernel_grad(), algorithm, "kernel_grad")
    return _layer_kernel_grad(
        x, cotangent, layer=layer, algorithm=algorithm, precision=precision, fn=fn
    )


# -- signal processing ------------------------------------------------------------------


@compiled
@partial(jax.jit, static_argnames=("plan", "method", "precision", "fn"))
def _signal(a, b, *, plan, method, precision, fn):
    spec = plan.spec
    dtype = jnp.dtype(spec.dtype)
    x, kernel = (b, a) if plan.swap else (a, b)  # the plan describes these two only
    order = (*plan.x_only, *plan.both, *plan.k_only, *plan.axes)
    x = jnp.transpose(x.astype(dtype), order)
    x = x.reshape(*spec.x_shape[:3], *x.shape[x.ndim - len(plan.axes):])
    w = jnp.transpose(kernel.astype(dtype), (*plan.both, *plan.k_only, *plan.x_only, *plan.axes))
    w = w.reshape(spec.groups, spec.out_channels, 1, *w.shape[w.ndim - len(plan.axes):])
    if plan.mode == "circular":
        w = _fold(w, plan.fold)
        pads = [(0, 0)] * 3 + [(k - 1, 0) for k in plan.fold]
        x = jnp.pad(x, pads, mode="wrap")
    y = conv_core(x, w, spec, method, precision, fn=fn)
    batch_shape = [plan.out_shape[ax] for ax in order[: len(order) - len(plan.axes)]]
    y = y.reshape(*batch_shape, *spec.out_size)
    inverse = [order.index(ax) for ax in range(len(order))]
    return jnp.transpose(y, inverse)


def _fold(w, lengths):
    """Alias a kernel longer than the period: ``w'[j] = sum_q w[j + q n]``."""
    for i, n in enumerate(lengths):
        axis = 3 + i
        k = w.shape[axis]
        if k > n:
            reps = -(-k // n)
            pads = [(0, 0)] * w.ndim
            pads[axis] = (0, reps * n - k)
            w = jnp.pad(w, pads)
            shape = (*w.shape[:axis], reps, n, *w.shape[axis + 1:])
            w = w.reshape(shape).sum(axis)
    return w


def _signal_call(fn, a, b, mode, axes, method, conjugate_flip):
    dtype = _arrays(fn, a=a, b=b)
    check_algorithm(fn, method)
    plan = signal_plan(fn, a.shape, b.shape, mode, axes, dtype)
    if conjugate_flip:
        b = jnp.flip(jnp.conj(b) if jnp.iscomplexobj(b) else b, plan.axes)
    if not plan.axes:  # rank-0 operands (axes=None): a product, as in SciPy
        return (a * b).astype(dtype)
    check_forced(fn, plan.spec, method, "forward")
    # no precision argument (SciPy's signature), but jax.default_matmul_precision applies
    y = _signal(a, b, plan=plan, method=method, precision=check_precision(fn, None), fn=fn)
    if conjugate_flip and mode == "circular":
        # convolving with the flipped b lags by len(b) - 1; circular correlation has lag 0
        shifts = tuple(1 - b.shape[ax] for ax in plan.axes)
        y = jnp.roll(y, shifts, plan.axes)
    return y


def convolve(
    a: ArrayLike, b: ArrayLike, mode: SignalMode = "full", *, axes: IntOrInts | None = None,
    method: str = "auto",
) -> jax.Array:
    r"""Signal-processing convolution (flipped kernel, commutative), batched.

    $$(a * b)[k] = \sum_j a[j]\, b[k - j]$$

    Equivalent to ``scipy.signal.convolve(a, b, mode)`` (and to
    ``scipy.signal.fftconvolve(a, b, mode, axes)`` when ``axes`` is given), plus
    ``mode="circular"``: ``(a \circledast b)[k] = \sum_j a[(k - j) \bmod n]\, b[j]`` with
    the length ``n`` of ``a`` (a longer ``b`` is aliased modulo ``n``).

    Args:
        a, b: arrays of equal rank. Along the axes not convolved they broadcast
            (equal lengths, or one of them 1) and keep their broadcast length in every
            mode (SciPy's ``"same"`` would crop them to ``a``'s length).
        mode: ``"full"`` (``n + m - 1``), ``"same"`` (``n``, centred as SciPy does),
            ``"valid"`` (``|n - m| + 1``; one operand must be at least as large as
            the other along every convolved axis) or ``"circular"`` (``n``).
        axes: the convolved axes (an int or a non-empty sequence); all axes when None.
        method: ``"auto"``, ``"measure"`` or a name from `jconv.algorithms` (as the
            ``algorithm`` of `conv`).

    Returns:
        The convolution, in the dtype both operands promote to. A broadcast axis of
        length 0 gives an empty result of the broadcast shape (SciPy's ``fftconvolve``
        returns shape ``(0,)`` for any empty operand).

    Raises:
        TypeError: a non-array operand.
        ValueError: mismatched ranks, non-broadcasting axes, an invalid axis, an empty
            ``axes`` (as SciPy), a convolved axis of length 0 (``scipy.signal.convolve``
            refuses it too), or an unknown mode or method.

    Example:
        >>> import jax.numpy as jnp, jconv
        >>> jconv.convolve(jnp.array([1., 2., 3.]), jnp.array([0., 1., 0.5])).tolist()
        [0.0, 1.0, 2.5, 4.0, 1.5]
    """
    return _signal_call("jconv.convolve", a, b, mode, axes, method, conjugate_flip=False)


def correlate(
    a: ArrayLike, b: ArrayLike, mode: SignalMode = "full", *, axes: IntOrInts | None = None,
    method: str = "auto",
) -> jax.Array:
    r"""Signal-processing cross-correlation (conjugates ``b``), batched.

    $$(a \star b)[k] = \sum_j a[j + k]\, \overline{b[j]}
      = \big(a * \overline{b[-\,\cdot\,]}\big)[k]$$

    Equivalent to ``scipy.signal.correlate(a, b, mode)``, with ``axes`` and
    ``mode="circular"`` as in `convolve`, of which it is ``convolve(a, conj(flip(b)))``.

    Args:
        a, b, mode, axes, method: as for `convolve`.

    Returns:
        The correlation, in the dtype both operands promote to.

    Raises:
        TypeError, ValueError: as `convolve`.

    Example:
        >>> import jax.numpy as jnp, jconv
        >>> jconv.correlate(jnp.array([1., 2., 3.]), jnp.array([0., 1., 0.5]), "same").tolist()
        [2.0, 3.5, 3.0]
    """
    return _signal_call("jconv.correlate", a, b, mode, axes, method, conjugate_flip=True)


def explain(
    x_shape: Sequence[int],
    w_shape: Sequence[int],
    *,
    transpose: bool = False,
    dtype: DTypeLike = "float32",
    algorithm: str = "auto",
    platform: str | None = None,
    precision: Precision = None,
    **kwargs,
) -> Plan:
    """Which algorithm runs each pass of a convolution, and why.

    Builds the same spec as `conv` (or `conv_transpose` with ``transpose=True``) would
    for these shapes and keyword arguments, and lists, for the forward pass, the input
    gradient and the kernel gradient, every algorithm's estimated time and workspace,
    or why it cannot run, and the one chosen.

    Args:
        x_shape, w_shape: the shapes of ``x`` and ``w``.
        transpose: explain `conv_transpose` instead of `conv`.
        dtype: the compute dtype.
        algorithm: ``"auto"``, ``"measure"`` (times the candidates and shows the
            measured times too) or a forced algorithm.
        platform: the platform to plan for (``"cpu"``, ``"cuda"``, ``"rocm"``,
            ``"tpu"``); default: JAX's default backend. Each platform plans with its own
            calibration; one without gets XLA's convolution for every pass.
        precision: as for `conv`; with ``"highest"`` the table marks the algorithms
            that precision excludes and the choice is among those it allows.
        **kwargs: the other keyword arguments of `conv` / `conv_transpose`.

    Returns:
        A ``Plan``; ``print(plan)`` shows a table, ``plan["forward"].chosen`` the choice.
        For an empty convolution (a zero-size batch, channel or input spatial axis) no
        algorithm runs: every pass is listed with ``chosen`` None and no estimates.

    Example:
        >>> import jconv
        >>> plan = jconv.explain((8, 32, 56, 56), (32, 1, 3, 3), groups=32)
        >>> plan["forward"].chosen in jconv.algorithms()
        True
    """
    fn = "jconv.explain"
    x_shape = check_shape_arg(fn, "x_shape", x_shape)
    w_shape = check_shape_arg(fn, "w_shape", w_shape)
    dtype = check_dtype(fn, dtype)
    build = conv_transpose_layer if check_flag(fn, "transpose", transpose) else conv_layer
    layer = build(fn, x_shape, w_shape, dtype, **kwargs)
    check_algorithm(fn, algorithm)
    name = "conv_transpose" if transpose else "conv"
    description = f"jconv.{name}: x {x_shape}, w {w_shape}, {dtype.name}" + "".join(
        f", {k}={v!r}" for k, v in kwargs.items()
    )
    if platform is not None:
        check_choice(fn, "platform", platform, PLATFORMS)
    precision = check_precision(fn, precision)
    return explain_spec(description, layer.spec, algorithm, is_differentiable(dtype), platform,
                        precision)
