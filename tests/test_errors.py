"""Every invalid call raises at trace time with a message naming function, argument,
rule and values. Each message is pinned."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jconv

x4 = jnp.ones((1, 6, 8, 8))
w4 = jnp.ones((4, 6, 3, 3))


def raises(exc, msg):
    return pytest.raises(exc, match=re.escape(msg))


@pytest.mark.parametrize(
    "kwargs,exc,msg",
    [
        (dict(w=jnp.ones((4, 3, 3))), ValueError,
         "jconv.conv: x has rank 4 but w has rank 3; they must be equal"),
        (dict(x=jnp.ones((6, 8))), ValueError,
         "jconv.conv: x must have rank >= 3 (batch, channels, spatial...), got shape (6, 8)"),
        (dict(groups=4, w=jnp.ones((4, 1, 3, 3))), ValueError,
         "jconv.conv: x has 6 input channels, which groups=4 does not divide"),
        (dict(groups=3, w=jnp.ones((4, 2, 3, 3))), ValueError,
         "jconv.conv: w has 4 output channels, which groups=3 does not divide"),
        (dict(w=jnp.ones((4, 5, 3, 3))), ValueError,
         "jconv.conv: w.shape[1] is 5 but x has 6 input channels and groups=1, so it must be 6"),
        (dict(groups=0), ValueError, "jconv.conv: groups must be >= 1, got 0"),
        (dict(groups=-2), ValueError, "jconv.conv: groups must be >= 1, got -2"),
        (dict(groups=1.5), TypeError, "jconv.conv: groups must be an int, got 1.5"),
        (dict(stride=0), ValueError, "jconv.conv: stride must be >= 1, got 0"),
        (dict(stride=(1, -1)), ValueError, "jconv.conv: stride must be >= 1, got (1, -1)"),
        (dict(dilation=0), ValueError, "jconv.conv: dilation must be >= 1, got 0"),
        (dict(stride=(1, 2, 1)), ValueError,
         "jconv.conv: stride has 3 values (1, 2, 1), expected one int or 2 (one per spatial dim)"),
        (dict(dilation=(1,)), ValueError,
         "jconv.conv: dilation has 1 values (1,), expected one int or 2"),
        (dict(padding=(1, 1, 1)), ValueError,
         "jconv.conv: padding has 3 entries (1, 1, 1), expected one int, or 2 ints or (low, high) pairs"),
        (dict(padding=((1, 2, 3), 1)), TypeError,
         "jconv.conv: each padding entry must be an int or a (low, high) pair of ints, got (1, 2, 3)"),
        (dict(padding="middle"), ValueError,
         "jconv.conv: padding must be 'valid', 'same', 'full', an int or per-dim values, got 'middle'"),
        (dict(padding=((-5, -4), 0)), ValueError,
         "jconv.conv: padding (-5, -4) leaves a non-positive input size -1 in spatial dim 0"),
        (dict(padding=((-3, -3), 0)), ValueError,
         "jconv.conv: the dilated kernel (extent 3) is larger than the padded input (size 2) in spatial dim 0"),
        (dict(dilation=(5, 1)), ValueError,
         "jconv.conv: the dilated kernel (extent 11) is larger than the padded input (size 8) in spatial dim 0"),
        (dict(padding_mode="mirror", padding=1), ValueError,
         "jconv.conv: padding_mode must be one of 'zeros', 'reflect', 'replicate', 'circular', got 'mirror'"),
        (dict(padding_mode="reflect", padding=8), ValueError,
         "jconv.conv: padding (8, 8) in spatial dim 0 exceeds 7, the most that "
         "padding_mode='reflect' allows for input size 8"),
        (dict(padding_mode="circular", padding=((-1, 1), 0)), ValueError,
         "jconv.conv: padding (-1, 1) in spatial dim 0 is negative, which padding_mode='circular' does not allow"),
        (dict(algorithm="magic"), ValueError, "jconv.conv: algorithm must be 'auto' or one of 'xla'"),
        (dict(bias=jnp.ones(5)), ValueError,
         "jconv.conv: bias has shape (5,), expected (4,) (one value per output channel)"),
        (dict(x=[[[1.0]]]), TypeError, "jconv.conv: x must be an array, got list"),
        (dict(w="kernel"), TypeError, "jconv.conv: w must be an array, got str"),
        (dict(x=jnp.ones((1, 6, 8, 8), bool)), TypeError,
         "jconv.conv: x must have a numeric dtype (integer, float or complex), got bool"),
        (dict(x=jnp.ones((1, 6, 0, 8))), ValueError,
         "jconv.conv: the dilated kernel (extent 3) is larger than the padded input (size 0) "
         "in spatial dim 0"),
        (dict(x=None), TypeError, "jconv.conv: x must be an array, got NoneType"),
        (dict(w=None), TypeError, "jconv.conv: w must be an array, got NoneType"),
        (dict(channels_last="yes"), TypeError,
         "jconv.conv: channels_last must be True or False, got 'yes'"),
        (dict(precision="bogus"), ValueError, "jconv.conv: precision must be None, a "
                                              "jax.lax.Precision, one of the names"),
        (dict(precision=["highest"]), ValueError,
         "jconv.conv: a precision pair has two entries (x's and w's), got ['highest']"),
        (dict(w=jnp.ones((4, 6, 0, 3))), ValueError,
         "jconv.conv: w has spatial size (0, 3); every entry must be >= 1 (a kernel needs at "
         "least one tap per spatial dim)"),
    ],
)
def test_conv_errors(kwargs, exc, msg):
    args = dict(x=x4, w=w4)
    args.update(kwargs)
    x, w = args.pop("x"), args.pop("w")
    with raises(exc, msg):
        jconv.conv(x, w, **args)
    # also at trace time under jit (before any computation)
    if isinstance(x, jax.Array) and isinstance(w, jax.Array):
        with raises(exc, msg):
            jax.jit(lambda x, w: jconv.conv(x, w, **args))(x, w)


def test_torch_tensors_get_a_clear_message():
    torch = pytest.importorskip("torch")
    with raises(TypeError, "jconv.conv: x is a torch.Tensor; pass a JAX or NumPy array"):
        jconv.conv(torch.ones(1, 6, 8, 8), w4)
    with raises(TypeError, "jconv.convolve: b is a torch.Tensor"):
        jconv.convolve(np.ones(8), torch.ones(3))


@pytest.mark.parametrize("kwargs, exc, msg", [
    (dict(dtype="bogus"), TypeError, "jconv.explain: dtype must be a NumPy or JAX dtype, got 'bogus'"),
    (dict(dtype=bool), TypeError, "jconv.explain: dtype must be an integer, float or complex dtype"),
    (dict(transpose="no"), TypeError, "jconv.explain: transpose must be True or False, got 'no'"),
    (dict(channels_last=1), TypeError, "jconv.explain: channels_last must be True or False, got 1"),
    (dict(platform="metal"), ValueError, "jconv.explain: platform must be one of 'cpu', 'cuda'"),
    (dict(precision="bogus"), ValueError, "jconv.explain: precision must be None"),
])
def test_explain_validates_its_arguments(kwargs, exc, msg):
    with raises(exc, msg):
        jconv.explain((1, 6, 8, 8), (4, 6, 3, 3), **kwargs)


def test_channels_last_messages_name_the_right_axis():
    with raises(ValueError, "jconv.conv: w.shape[-2] is 5 but x has 6 input channels and groups=1"):
        jconv.conv(jnp.ones((1, 8, 8, 6)), jnp.ones((3, 3, 5, 4)), channels_last=True)


@pytest.mark.parametrize(
    "kwargs,msg",
    [
        (dict(padding="same"), "jconv.conv_transpose: padding='same' is not supported"),
        (dict(padding="full"), "jconv.conv_transpose: padding='full' is not supported"),
        (dict(stride=2, output_padding=2), "jconv.conv_transpose: output_padding 2 in spatial dim 0 "
                                           "must be smaller than stride (2) or dilation (1)"),
        (dict(output_padding=1), "jconv.conv_transpose: output_padding 1 in spatial dim 0 must be "
                                 "smaller than stride (1) or dilation (1)"),
        (dict(output_padding=-1), "jconv.conv_transpose: output_padding must be >= 0, got -1"),
        (dict(w=jnp.ones((5, 2, 3, 3))), "jconv.conv_transpose: w.shape[0] is 5 but x has 6 input "
                                         "channels; they must be equal"),
        (dict(groups=4), "jconv.conv_transpose: x has 6 input channels, which groups=4 does not divide"),
        (dict(bias=jnp.ones(3)), "jconv.conv_transpose: bias has shape (3,), expected (2,)"),
        (dict(padding=3), "jconv.conv_transpose: padding (3, 3) leaves a non-positive output size -2 in spatial dim 0"),
    ],
)
def test_conv_transpose_errors(kwargs, msg):
    args = dict(w=jnp.ones((6, 2, 3, 3)))
    args.update(kwargs)
    w = args.pop("w")
    with raises(ValueError, msg):
        jconv.conv_transpose(jnp.ones((1, 6, 2, 2)), w, **args)


def test_vjp_function_errors():
    dy = jnp.ones((1, 4, 6, 6))
    with raises(ValueError, "jconv.conv_input_grad: cotangent has shape (1, 4, 6, 6), expected (1, 4, 5, 5)"):
        jconv.conv_input_grad(dy, jnp.ones((4, 6, 4, 4)), (1, 6, 8, 8))
    with raises(ValueError, "jconv.conv_kernel_grad: cotangent has shape (1, 4, 6, 6), expected (1, 4, 5, 5)"):
        jconv.conv_kernel_grad(x4, dy, (4, 6, 4, 4))
    with raises(TypeError, "jconv.conv_input_grad: input_shape must be a sequence of ints, got 'big'"):
        jconv.conv_input_grad(dy, w4, "big")
    with raises(TypeError, "jconv.explain: x_shape must be a sequence of ints, got an array of shape "
                "(1, 4, 6, 6) (pass its .shape)"):
        jconv.explain(dy, w4.shape)
    with raises(ValueError, "jconv.conv_kernel_grad: x has 6 input channels, which groups=4 does not divide"):
        jconv.conv_kernel_grad(x4, dy, (4, 1, 3, 3), groups=4)
    with raises(TypeError, "jconv.conv_input_grad: cotangent must be an array, got list"):
        jconv.conv_input_grad([1.0], w4, (1, 6, 8, 8))


@pytest.mark.parametrize(
    "a,b,kwargs,exc,msg",
    [
        (np.ones(5), np.ones(3), dict(mode="middle"), ValueError,
         "jconv.convolve: mode must be one of 'full', 'same', 'valid', 'circular', got 'middle'"),
        (np.ones((2, 5)), np.ones(3), {}, ValueError,
         "jconv.convolve: a has rank 2 but b has rank 1; they must be equal"),
        (np.ones((2, 5)), np.ones((3, 3)), dict(axes=1), ValueError,
         "jconv.convolve: a has length 2 and b length 3 along axis 0, which is not convolved"),
        (np.ones((2, 5)), np.ones((3, 3)), dict(axes=2), ValueError,
         "jconv.convolve: axis 2 is out of range for arrays of rank 2"),
        (np.ones((2, 5)), np.ones((2, 3)), dict(axes=(1, -1)), ValueError,
         "jconv.convolve: axes (1, -1) contains a repeated axis"),
        (np.ones((4, 2)), np.ones((2, 4)), dict(mode="valid"), ValueError,
         "jconv.convolve: mode='valid' needs a or b at least as large as the other along every "
         "convolved axis; got lengths (4, 2) and (2, 4)"),
        (np.ones(0), np.ones(3), {}, ValueError,
         "jconv.convolve: a has length 0 and b length 3 along convolved axis 0; both must be >= 1"),
        ([1, 2], np.ones(3), {}, TypeError, "jconv.convolve: a must be an array, got list"),
        (np.ones(3), np.ones(3), dict(method="magic"), ValueError,
         "jconv.convolve: algorithm must be 'auto' or one of"),
        (np.ones(3), np.ones(3), dict(axes="last"), TypeError,
         "jconv.convolve: axes must be an int or a sequence of ints, got 'last'"),
    ],
)
def test_convolve_errors(a, b, kwargs, exc, msg):
    with raises(exc, msg):
        jconv.convolve(a, b, **kwargs)


def test_correlate_names_itself():
    with raises(ValueError, "jconv.correlate: mode must be one of"):
        jconv.correlate(np.ones(3), np.ones(3), mode="x")


def test_forcing_an_algorithm_that_cannot_run_says_why(monkeypatch):
    from jconv import _select
    from jconv._algorithms import REGISTRY

    xla = REGISTRY["xla"]
    refusing = xla._replace(plan=lambda spec, ctx: "it refuses everything in this test")
    monkeypatch.setitem(REGISTRY, "xla", refusing)
    _select.clear_plans()
    try:
        with raises(jconv.AlgorithmRefused, "jconv.conv: algorithm='xla' cannot compute the "
                                            "forward pass: it refuses everything in this test"):
            jconv.conv(x4, w4, algorithm="xla")
        # "auto" never fails for a valid configuration
        assert jconv.conv(x4, w4).shape == (1, 4, 6, 6)
    finally:
        monkeypatch.undo()
        _select.clear_plans()


def test_explain_validates_like_conv():
    with raises(ValueError, "jconv.explain: x has 6 input channels, which groups=4 does not divide"):
        jconv.explain((1, 6, 8, 8), (4, 1, 3, 3), groups=4)
    with raises(ValueError, "jconv.explain: algorithm must be 'auto' or one of"):
        jconv.explain((1, 6, 8, 8), (4, 6, 3, 3), algorithm="nope")


def test_backward_refusals_name_the_differentiated_function():
    """A forced algorithm that cannot run a gradient pass fails when that pass is traced,
    under the name of the public function being differentiated; explain shows it."""
    x, w = jnp.ones((1, 4, 5, 5)), jnp.ones((4, 3, 3, 3))
    assert jconv.conv_transpose(x, w, stride=2, algorithm="polyphase").shape == (1, 3, 11, 11)
    with raises(ValueError, "jconv.conv_transpose: algorithm='polyphase' cannot compute the "
                            "input grad pass: the input is not dilated"):
        jax.grad(lambda x: jconv.conv_transpose(x, w, stride=2, algorithm="polyphase").sum())(x)
    xc, wc = jnp.ones((1, 4, 6, 6)), jnp.ones((4, 4, 1, 1))
    with raises(ValueError, "jconv.conv: algorithm='winograd' cannot compute the forward pass"):
        jconv.conv(xc, wc, algorithm="winograd")
    plan = jconv.explain(x.shape, w.shape, transpose=True, stride=2, algorithm="polyphase")
    assert plan["forward"].chosen == "polyphase"
    assert plan["input_grad"].chosen is None
    assert plan["kernel_grad"].chosen == "polyphase"
    assert "input_grad: the forced algorithm cannot run" in str(plan)
