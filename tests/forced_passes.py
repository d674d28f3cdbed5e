"""Every pass of one forced algorithm against the references, for the algorithm test files.

A case is ``(x, w, b, y, dy, dx, dw, kw)``: float64 operands, the reference output,
cotangent and VJPs (reference.py), and the keyword arguments of `jconv.conv`.
"""

import jax
import jax.numpy as jnp
import numpy as np
from reference import close, conv_ref, vjp_ref

import jconv


def reference_case(seed, x_shape, w_shape, ref_kw, conv_kw):
    """Random operands (seeded) with their reference output, cotangent and VJPs."""
    r = np.random.default_rng(seed)
    x, w, b = r.standard_normal(x_shape), r.standard_normal(w_shape), r.standard_normal(w_shape[0])
    y = conv_ref(x, w, b, **ref_kw)
    dy = r.standard_normal(y.shape)
    dx, dw = vjp_ref(x, w, dy, **ref_kw)
    return x, w, b, y, dy, dx, dw, conv_kw


def check_forward(algorithm, case):
    x, w, b, y, _, _, _, kw = case
    close(jconv.conv(x, w, b, algorithm=algorithm, **kw), y)


def check_vjps(algorithm, case):
    """The public input- and kernel-gradient functions."""
    x, w, _, _, dy, dx, dw, kw = case
    close(jconv.conv_input_grad(dy, w, x.shape, algorithm=algorithm, **kw), dx)
    close(jconv.conv_kernel_grad(x, dy, w.shape, algorithm=algorithm, **kw), dw)


def check_jax_grad(algorithm, case):
    """Reverse-mode differentiation of `jconv.conv`, under jit."""
    x, w, b, _, dy, dx, dw, kw = case
    loss = lambda x, w: jnp.sum(jconv.conv(x, w, b, algorithm=algorithm, **kw) * dy)  # noqa: E731
    gx, gw = jax.jit(jax.grad(loss, (0, 1)))(x, w)
    close(gx, dx)
    close(gw, dw)
