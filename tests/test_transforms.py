"""Every public function under jit, vmap, grad, vjp, jvp, jacfwd, jacrev, hessian, and
grad-of-grad; bilinear gradient checks; the adjoint identity; what reverse mode runs."""


import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

import jconv

rng = np.random.default_rng(2)
KW = dict(stride=(2, 1), padding=((1, 0), (2, 1)), dilation=(1, 2), groups=2)
TKW = dict(stride=2, padding=1, output_padding=1, groups=2)


def close(a, b, tol=1e-10):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(a, b, rtol=0, atol=tol * max(np.abs(b).max(initial=0), 1.0))


def operands():
    x = rng.standard_normal((2, 4, 7, 6))
    w = rng.standard_normal((6, 2, 3, 2))
    y = jconv.conv(x, w, **KW)
    return x, w, rng.standard_normal(y.shape)


# every public array function as a bilinear f(u, v) with its operands
def _cases():
    x, w, dy = operands()
    t_x, t_w = rng.standard_normal((2, 4, 3, 4)), rng.standard_normal((4, 3, 3, 3))
    a, b = rng.standard_normal((3, 9)), rng.standard_normal((3, 4))
    return {
        "conv": (lambda u, v: jconv.conv(u, v, **KW), x, w),
        "conv_transpose": (lambda u, v: jconv.conv_transpose(u, v, **TKW), t_x, t_w),
        "conv_input_grad": (lambda u, v: jconv.conv_input_grad(u, v, x.shape, **KW), dy, w),
        "conv_kernel_grad": (lambda u, v: jconv.conv_kernel_grad(u, v, w.shape, **KW), x, dy),
        "convolve": (lambda u, v: jconv.convolve(u, v, "same", axes=-1), a, b),
        "correlate": (lambda u, v: jconv.correlate(u, v, "full", axes=-1), a, b),
    }


CASES = _cases()
NAMES = list(CASES)


@pytest.mark.parametrize("name", NAMES)
def test_bilinear_gradients_check_in_both_modes(name):
    f, u, v = CASES[name]
    # conv is bilinear: eps=1 finite differences are exact up to rounding (as in lax's tests)
    check_grads(lambda u: f(u, v), (u,), order=2, modes=["fwd", "rev"], eps=1.0)
    check_grads(lambda v: f(u, v), (v,), order=2, modes=["fwd", "rev"], eps=1.0)


@pytest.mark.parametrize("name", NAMES)
def test_jit_jvp_vjp_jacobians_agree(name):
    f, u, v = CASES[name]
    y = f(u, v)
    close(jax.jit(f)(u, v), y)
    du, dv = rng.standard_normal(u.shape), rng.standard_normal(v.shape)
    _, tangent = jax.jvp(f, (u, v), (du, dv))
    close(tangent, f(du, v) + f(u, dv))  # bilinearity
    ct = rng.standard_normal(y.shape)
    _, pull = jax.vjp(f, u, v)
    gu, gv = pull(ct)
    # adjoint: <f(du, v), ct> = <du, gu>, <f(u, dv), ct> = <dv, gv>
    assert np.vdot(f(du, v), ct) == pytest.approx(np.vdot(du, gu), rel=1e-10)
    assert np.vdot(f(u, dv), ct) == pytest.approx(np.vdot(dv, gv), rel=1e-10)
    jf = jax.jacfwd(f)(u, v)
    jr = jax.jacrev(f)(u, v)
    close(jf, jr)
    close(np.tensordot(jf, du, du.ndim), tangent - f(u, dv))


# second order runs the same primitive rules under every function: one per kind of wrapper
# (a layer, a transposed layer, a signal)
@pytest.mark.parametrize("name", ["conv", "conv_transpose", "convolve"])
def test_hessian_and_grad_of_grad(name):
    f, u, v = CASES[name]
    u_small = u  # sizes are already small
    loss = lambda u, v: jnp.sum(f(u, v) ** 2)  # noqa: E731
    h = jax.hessian(loss, argnums=1)(u_small, v)
    # loss is quadratic in v: the Hessian is 2 J^T J with J = d f / d v
    j = jax.jacrev(f, argnums=1)(u_small, v).reshape(-1, v.size)
    close(h.reshape(v.size, v.size), 2 * j.T @ j, tol=1e-9)
    # grad of grad: d/du <grad_v loss(u, v), r> against forward-over-reverse
    r = rng.standard_normal(v.shape)
    g2 = jax.grad(lambda u: jnp.vdot(jax.grad(loss, 1)(u, v), r))(u_small)
    g2_fwd = jax.jvp(lambda u: jax.grad(loss, 1)(u, v), (u_small,), (jnp.ones_like(u_small),))[1]
    assert np.vdot(g2, np.ones_like(u_small)) == pytest.approx(np.vdot(g2_fwd, r), rel=1e-9)


def _stack_map(f, us, vs, u_axis, v_axis):
    n = (us.shape[u_axis] if u_axis is not None else vs.shape[v_axis])
    outs = []
    for i in range(n):
        u = np.take(us, i, u_axis) if u_axis is not None else us
        v = np.take(vs, i, v_axis) if v_axis is not None else vs
        outs.append(f(u, v))
    return np.stack(outs)


# The batching rule has three branches (only x, only w, both mapped), each moving the
# mapped axis into place: `conv` runs every placement, the other functions (their own
# layouts around the same rule) every branch with a mapped axis that is not leading.
VMAP_AXES = [(0, None), (None, 0), (0, 0), (1, 2), (2, None), (None, 1)]
VMAP_CASES = [(name, axes) for name in NAMES
              for axes in (VMAP_AXES if name == "conv" else [(1, 2), (2, None), (None, 1)])]


@pytest.mark.parametrize("name, axes", VMAP_CASES)
def test_vmap_matches_a_loop(name, axes):
    f, u, v = CASES[name]
    u_axis, v_axis = axes
    b = 3
    us = np.stack([u + i for i in range(b)], u_axis) if u_axis is not None else u
    vs = np.stack([v * (i + 1) for i in range(b)], v_axis) if v_axis is not None else v
    got = jax.vmap(f, in_axes=(u_axis, v_axis))(us, vs)
    close(got, _stack_map(f, us, vs, u_axis, v_axis))
    # and under jit, and grad of vmap / vmap of grad
    close(jax.jit(jax.vmap(f, in_axes=(u_axis, v_axis)))(us, vs), got)
    loss = lambda u, v: jnp.sum(jnp.sin(f(u, v)))  # noqa: E731
    g1 = jax.grad(lambda us, vs: jnp.sum(jax.vmap(loss, in_axes=(u_axis, v_axis))(us, vs)), (0, 1))(us, vs)
    if u_axis is not None and v_axis is not None:
        g2 = jax.vmap(jax.grad(loss, (0, 1)), in_axes=(u_axis, v_axis), out_axes=(u_axis, v_axis))(us, vs)
        close(g1[0], g2[0])
        close(g1[1], g2[1])


@pytest.mark.parametrize("name", NAMES)
def test_vmap_over_an_empty_batch(name):
    f, u, v = CASES[name]
    got = jax.vmap(f, in_axes=(0, None))(np.zeros((0, *u.shape)), v)
    assert got.shape == (0, *f(u, v).shape)
    got = jax.vmap(f, in_axes=(None, 0))(u, np.zeros((0, *v.shape)))
    assert got.shape == (0, *f(u, v).shape)


def test_per_example_kernels_under_vmap_and_grad():
    xs = rng.standard_normal((5, 1, 4, 6, 6))
    ws = rng.standard_normal((5, 4, 2, 3, 3))
    f = lambda x, w: jnp.sum(jconv.conv(x, w, groups=2, padding=1) ** 2)  # noqa: E731
    g = jax.vmap(jax.grad(f, (0, 1)))(xs, ws)
    for i in range(5):
        gi = jax.grad(f, (0, 1))(xs[i], ws[i])
        close(g[0][i], gi[0])
        close(g[1][i], gi[1])


def test_zero_batch():
    x, w = np.zeros((0, 4, 7, 6)), rng.standard_normal((6, 2, 3, 2))
    y = jconv.conv(x, w, **KW)
    assert y.shape[0] == 0
    gw = jax.grad(lambda w: jnp.sum(jconv.conv(x, w, **KW)))(w)
    close(gw, np.zeros_like(w))


def _conv_eqns(jaxpr):
    out = []
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "jconv_conv":
            out.append(eqn)
        for sub in jax.extend.core.jaxprs_in_params(eqn.params):
            out += _conv_eqns(sub)
    return out


def test_reverse_mode_runs_the_public_vjps():
    x, w, dy = operands()
    grad_jaxpr = jax.make_jaxpr(lambda x, w: jax.vjp(lambda x, w: jconv.conv(x, w, **KW), x, w)[1](dy))(x, w)
    roles = {e.params["role"]: e.params["spec"] for e in _conv_eqns(grad_jaxpr.jaxpr)}
    assert set(roles) == {"forward", "input_grad", "kernel_grad"}
    in_jaxpr = jax.make_jaxpr(lambda dy, w: jconv.conv_input_grad(dy, w, x.shape, **KW))(dy, w)
    k_jaxpr = jax.make_jaxpr(lambda x, dy: jconv.conv_kernel_grad(x, dy, w.shape, **KW))(x, dy)
    (in_eqn,) = _conv_eqns(in_jaxpr.jaxpr)
    (k_eqn,) = _conv_eqns(k_jaxpr.jaxpr)
    # the same convolutions, with the same specs, as the public VJP functions
    assert in_eqn.params["role"] == "input_grad" and in_eqn.params["spec"] == roles["input_grad"]
    assert k_eqn.params["role"] == "kernel_grad" and k_eqn.params["spec"] == roles["kernel_grad"]
    assert roles["input_grad"] == roles["forward"].input_grad()
    assert roles["kernel_grad"] == roles["forward"].kernel_grad()


def test_reverse_mode_calls_the_vjp_functions(monkeypatch):
    from jconv import _primitive

    calls = []
    for name in ("input_grad_core", "kernel_grad_core"):
        original = getattr(_primitive, name)

        def counted(*args, _original=original, _name=name, **kw):
            calls.append(_name)
            return _original(*args, **kw)

        monkeypatch.setattr(_primitive, name, counted)
    # a shape no other test uses, so no cached trace hides the calls
    x, w = rng.standard_normal((3, 4, 9, 5)), rng.standard_normal((6, 2, 3, 2))
    jax.grad(lambda x, w: jnp.sum(jconv.conv(x, w, **KW) ** 2), (0, 1))(x, w)
    assert sorted(calls) == ["input_grad_core", "kernel_grad_core"]
