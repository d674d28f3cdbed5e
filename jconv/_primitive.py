"""The ``jconv_conv`` primitive: one canonical convolution, bilinear in (x, w).

Registering convolution as a primitive (as `jax.lax` does) gives every transformation:
the JVP is bilinear, reverse mode transposes it with the two VJP convolutions below,
`vmap` folds the batched axis into the batch, group or output-channel axis, and the
lowering runs whichever algorithm the selector picks for the spec at hand. Each pass
(forward, input gradient, kernel gradient) is its own `ConvSpec` and gets its own
algorithm, and each platform (cpu, cuda, rocm, tpu) its own lowering, planned with that
platform's calibration: a multi-platform export lowers each with its own choice.
"""

from __future__ import annotations

import dataclasses
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax._src import dispatch
from jax.core import ShapedArray
from jax.extend.core import Primitive
from jax.interpreters import ad, batching, mlir

from ._partition import is_partitioned
from ._partition import lowering as partitioned_lowering
from ._select import PLATFORMS, check_forced, choose, compiled
from ._spec import ConvSpec

conv_p = Primitive("jconv_conv")

_HALF = (np.dtype(jnp.float16), np.dtype(jnp.bfloat16))


def conv_core(
    x, w, spec: ConvSpec, algorithm: str = "auto", precision=None, role="forward", fn="jconv"
):
    """Canonical convolution: x ``(N, G, Ci, *S)``, w ``(G, Co, Ci, *K)`` -> ``(N, G, Co, *O)``.

    ``role`` names the pass and ``fn`` the public function it belongs to (for errors:
    a forced algorithm that cannot run a backward pass is reported when that pass is
    traced, under the name of the function being differentiated).
    """
    return conv_p.bind(
        x, w, spec=spec, algorithm=algorithm, precision=precision, role=role, fn=fn
    )


# ---------------------------------------------------------------------------------------
# The two VJPs, derived (one spatial dim; the others are independent and alike).
#
# Forward, with xe the input dilated by ld and padded by (lo, hi), length
# E = ld (S - 1) + 1 + lo + hi, and O = floor((E - d (K - 1) - 1) / s) + 1:
#
#     y[p] = sum_t xe[p s + t d] w[t]          (channels: y[o] += w[o, c] x[c], per group)
#
# As a matrix, y = M x, M[p, i] = sum_t w[t] [p s + t d == lo + i ld]. The input VJP is
# dx = M^T dy, the kernel VJP is dw = A^T dy with A[p, t] = xe[p s + t d]: both are
# again convolutions, which is what lets every pass use the fastest algorithm.
#
# Input gradient. dx[i] = sum_{p, t} dy[p] w[t] [p s + t d == lo + i ld].
#   Spread dy by s (insert s - 1 zeros: "stride <-> input dilation"), dye[p s] = dy[p].
#   Then dx[i] = sum_t dye[lo + i ld - t d] w[t]; substituting t = K - 1 - t',
#   dx[i] = sum_t' dye[i ld + t' d - (d (K - 1) - lo)] w[K - 1 - t'],
#   a correlation with the *flipped* kernel, kernel dilation d, stride ld, and low
#   padding lo' = d (K - 1) - lo. The high padding makes the output exactly S long:
#   hi' = d (K - 1) - hi + r with r = (E - d (K - 1) - 1) mod s, the input tail that no
#   forward window reached (its gradient is zero). Channels: per group, the kernel
#   (Co, Ci) is used as (Ci, Co), i.e. its channel axes are swapped; groups stay
#   block-diagonal, so the group axis is untouched. -> `ConvSpec.input_grad`.
#
# Kernel gradient. dw[t] = sum_p dy[p] xe[p s + t d]: a correlation of xe with dy
#   as the kernel, in which t is the output position (stride d) and p the tap
#   (kernel dilation s). Padding (lo, hi - r): the tail r is never touched. The sum
#   runs over the batch and the output positions, so the batch axis becomes the
#   contracted channel axis and the input channels become the batch:
#   x (N, G, Ci, S) -> (Ci, G, N, S), dy (N, G, Co, O) -> (G, Co, N, O), and the
#   result (Ci, G, Co, K) is transposed back to (G, Co, Ci, K); a flipped forward
#   kernel flips its gradient. Groups again stay a batch of independent problems
#   (no dense convolution with a block mask). -> `ConvSpec.kernel_grad`.
#
# The proofs in proofs/ check both statements (dx = M^T dy, dw = A^T dy) exactly.
# ---------------------------------------------------------------------------------------


def input_grad_core(ct, w, spec: ConvSpec, algorithm="auto", precision=None, fn="jconv"):
    """``M^T ct``: the input gradient of the canonical convolution ``spec``."""
    return conv_core(ct, jnp.swapaxes(w, 1, 2), spec.input_grad(), algorithm, precision,
                     "input_grad", fn)


def kernel_grad_core(x, ct, spec: ConvSpec, algorithm="auto", precision=None, fn="jconv"):
    """``A^T ct``: the kernel gradient of the canonical convolution ``spec``."""
    spatial = tuple(range(3, 3 + spec.ndim))
    xt = jnp.transpose(x, (2, 1, 0, *spatial))
    ctt = jnp.transpose(ct, (1, 2, 0, *spatial))
    dwt = conv_core(xt, ctt, spec.kernel_grad(), algorithm, precision, "kernel_grad", fn)
    dw = jnp.transpose(dwt, (1, 2, 0, *spatial))
    return jnp.flip(dw, spatial) if spec.flip else dw


def _compute(x, w, *, spec: ConvSpec, algorithm, precision, role, fn, platform):
    """The lowering for ``platform``: the selector's choice, traced."""
    if spec.is_empty:
        return jnp.zeros(spec.y_shape, x.dtype)
    choice = choose(spec, algorithm, role, fn, platform, precision)
    dtype = x.dtype
    if np.dtype(dtype) in _HALF:  # accumulate in float32
        x, w = x.astype(jnp.float32), w.astype(jnp.float32)
    return choice.run(x, w, precision).astype(dtype)


def _abstract_eval(x, w, *, spec: ConvSpec, algorithm, precision, role, fn):
    if x.shape != spec.x_shape or w.shape != spec.w_shape or x.dtype != w.dtype:
        raise TypeError(
            f"jconv_conv: operands {x.str_short()} and {w.str_short()} do not match the "
            f"spec {spec.x_shape} and {spec.w_shape}"
        )
    return ShapedArray(spec.y_shape, x.dtype)


def _transpose_lhs(ct, x, w, *, spec, algorithm, precision, role, fn):
    return input_grad_core(ct, w, spec, algorithm, precision, fn)


def _transpose_rhs(ct, x, w, *, spec, algorithm, precision, role, fn):
    return kernel_grad_core(x, ct, spec, algorithm, precision, fn)


def _batch(args, dims, *, spec: ConvSpec, algorithm, precision, role, fn):
    """Fold the mapped axis into the batch (x only), output channels (w only) or groups."""
    x, w = args
    bx, bw = dims
    params = dict(algorithm=algorithm, precision=precision, role=role, fn=fn)
    if bw is None:  # (B, N, ...) -> (B N, ...)
        x = jnp.moveaxis(x, bx, 0)
        b = x.shape[0]
        new = dataclasses.replace(spec, batch=b * spec.batch)
        y = conv_core(x.reshape(new.x_shape), w, new, **params)
        return y.reshape(b, *spec.y_shape), 0
    if bx is None:  # w (B, G, Co, ...) -> (G, B Co, ...)
        w = jnp.moveaxis(w, bw, 1)
        b = w.shape[1]
        new = dataclasses.replace(spec, out_channels=b * spec.out_channels)
        y = conv_core(x, w.reshape(new.w_shape), new, **params)
        n, g, _, *o = new.y_shape
        return y.reshape(n, g, b, spec.out_channels, *o), 2
    x = jnp.moveaxis(x, bx, 1)  # (N, B, G, Ci, ...) -> (N, B G, Ci, ...)
    w = jnp.moveaxis(w, bw, 0)  # (B, G, Co, Ci, ...) -> (B G, Co, Ci, ...)
    b = w.shape[0]
    new = dataclasses.replace(spec, groups=b * spec.groups)
    y = conv_core(x.reshape(new.x_shape), w.reshape(new.w_shape), new, **params)
    return y.reshape(spec.batch, b, *spec.y_shape[1:]), 1


@compiled
@partial(jax.jit, static_argnames=("spec", "algorithm", "precision", "role", "fn"))
def _apply(x, w, *, spec, algorithm, precision, role, fn):
    """Eager calls: the primitive under `jit`, lowered for the device's platform."""
    return conv_p.bind(x, w, spec=spec, algorithm=algorithm, precision=precision, role=role,
                       fn=fn)


conv_p.def_impl(_apply)
conv_p.def_abstract_eval(_abstract_eval)
ad.defbilinear(conv_p, _transpose_lhs, _transpose_rhs)
batching.primitive_batchers[conv_p] = _batch
def _lowering(platform: str):
    """The lowering for ``platform``: partitioned under a sharded `jit`, else computed."""
    compute = mlir.lower_fun(partial(_compute, platform=platform), multiple_results=False)

    def lower(ctx, x, w, **params):
        if is_partitioned(ctx):
            # a forced algorithm's refusal is raised here, as unsharded, not from
            # inside XLA's partitioner
            check_forced(params["fn"], params["spec"], params["algorithm"], params["role"])
            return partitioned_lowering(ctx, x, w, core=conv_p.bind, **params)
        return compute(ctx, x, w, **params)

    return lower


# A sharded lowering must know its devices to build the partitioned call (JAX's own
# custom_partitioning registers itself in the same set).
dispatch.prim_requires_devices_during_lowering.add(conv_p)
# any other platform: no calibration can exist for it, so XLA's convolution
mlir.register_lowering(conv_p, _lowering("other"))
for _platform in PLATFORMS:
    mlir.register_lowering(conv_p, _lowering(_platform), platform=_platform)
