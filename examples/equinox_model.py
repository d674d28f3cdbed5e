"""The digits LeNet in Equinox, with jconv computing its convolutions.

``eqx.nn.Conv2d`` calls ``jax.lax.conv_general_dilated`` itself and takes no argument to
replace it, so an Equinox user adds a few lines: a small module, ``JConv`` below, that
holds an ``eqx.nn.Conv`` layer and calls ``jconv.conv`` with its weight, bias and
hyperparameters. Model code then writes ``JConv(eqx.nn.Conv2d(...))`` where it wrote
``eqx.nn.Conv2d(...)``. Equinox layers take one unbatched example, ``(C, H, W)``, and are
batched with ``jax.vmap``; the layer adds a batch axis of one, and jconv's batching rule
folds the mapped axis into it.

The script builds the model with plain ``eqx.nn.Conv2d`` layers and again with the same
layers (the same weights) wrapped in ``JConv``, checks that outputs and gradients agree,
trains the jconv model briefly with Optax's Adam, and times one compiled training step of
each.

Run: python examples/equinox_model.py   (needs equinox, optax and scikit-learn)
"""

import time

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import jconv


class JConv(eqx.Module):
    """An ``eqx.nn.Conv`` layer (1-, 2- or 3-D) whose forward computation is ``jconv.conv``.

    It keeps the wrapped layer, so parameters, initialisation and every hyperparameter are
    Equinox's; only ``__call__`` changes. Use it as ``JConv(eqx.nn.Conv2d(...))``.
    """

    layer: eqx.nn.Conv

    def __call__(self, x: jax.Array) -> jax.Array:
        """One example ``(C_in, *spatial)`` -> ``(C_out, *spatial_out)``."""
        c = self.layer
        padding = c.padding.lower() if isinstance(c.padding, str) else c.padding   # "SAME" -> "same"
        bias = None if c.bias is None else c.bias.reshape(-1)                       # (O, 1, 1) -> (O,)
        y = jconv.conv(x[None], c.weight, bias, stride=c.stride, padding=padding, dilation=c.dilation,
                       groups=c.groups, padding_mode=c.padding_mode.lower())
        return y[0]


class LeNet(eqx.Module):
    """Two 3x3 convolutions with max pooling, then two dense layers; one ``(1, 8, 8)`` digit."""

    conv1: eqx.Module
    conv2: eqx.Module
    dense1: eqx.nn.Linear
    dense2: eqx.nn.Linear
    pool: eqx.nn.MaxPool2d

    def __init__(self, key, wrap=lambda layer: layer):
        k1, k2, k3, k4 = jax.random.split(key, 4)
        self.conv1 = wrap(eqx.nn.Conv2d(1, 16, 3, padding="same", key=k1))
        self.conv2 = wrap(eqx.nn.Conv2d(16, 32, 3, padding="same", key=k2))
        self.dense1 = eqx.nn.Linear(32 * 2 * 2, 64, key=k3)
        self.dense2 = eqx.nn.Linear(64, 10, key=k4)
        self.pool = eqx.nn.MaxPool2d(2, 2)

    def __call__(self, x):
        x = self.pool(jax.nn.relu(self.conv1(x)))       # (16, 4, 4)
        x = self.pool(jax.nn.relu(self.conv2(x)))       # (32, 2, 2)
        x = jax.nn.relu(self.dense1(x.reshape(-1)))
        return self.dense2(x)


def loss_fn(model, x, y):
    return optax.softmax_cross_entropy_with_integer_labels(jax.vmap(model)(x), y).mean()


def make_step(opt):
    @eqx.filter_jit
    def step(model, state, x, y):
        loss, grads = eqx.filter_value_and_grad(loss_fn)(model, x, y)
        updates, state = opt.update(grads, state, eqx.filter(model, eqx.is_array))
        return eqx.apply_updates(model, updates), state, loss
    return step


def median_step_ms(step, model, state, x, y, repeats=15):
    """Median wall time of one compiled training step, in ms."""
    jax.block_until_ready(step(model, state, x, y))      # compile
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        jax.block_until_ready(step(model, state, x, y))
        times.append(time.perf_counter() - t)
    return 1e3 * float(np.median(times))


def check_layer() -> None:
    """``JConv`` keeps the hyperparameters of the layer it wraps (any dimension; 1-D here)."""
    key = jax.random.key(1)
    layer = eqx.nn.Conv1d(4, 6, 3, stride=2, padding=2, dilation=2, groups=2, padding_mode="REFLECT", key=key)
    x = jax.random.normal(key, (3, 4, 9))
    np.testing.assert_allclose(jax.vmap(JConv(layer))(x), jax.vmap(layer)(x), rtol=1e-5, atol=1e-5)
    print("JConv equals eqx.nn.Conv1d with stride, dilation, groups and reflect padding")


def main() -> None:
    check_layer()
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, None]        # (1797, 1, 8, 8)
    x_train, x_test, y_train, y_test = train_test_split(
        images, digits.target, test_size=0.25, random_state=0, stratify=digits.target)

    model_eqx = LeNet(jax.random.key(0))                    # eqx.nn.Conv2d, computed by jax.lax
    model = LeNet(jax.random.key(0), wrap=JConv)            # the same layers and weights, by jconv

    xb, yb = jnp.asarray(x_train[:64]), jnp.asarray(y_train[:64])
    forward = eqx.filter_jit(lambda m, x: jax.vmap(m)(x))
    out, out_eqx = forward(model, xb), forward(model_eqx, xb)
    print(f"outputs, jconv vs eqx.nn.Conv2d: largest difference {float(jnp.max(jnp.abs(out - out_eqx))):.1e}")
    np.testing.assert_allclose(out, out_eqx, rtol=1e-5, atol=1e-5)
    grad = eqx.filter_jit(eqx.filter_grad(loss_fn))
    g, g_eqx = grad(model, xb, yb), grad(model_eqx, xb, yb)
    for a, b in zip(jax.tree.leaves(g), jax.tree.leaves(g_eqx)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    print("gradients, jconv vs eqx.nn.Conv2d: equal within 1e-4")

    opt = optax.adam(5e-3)
    step = make_step(opt)
    state = opt.init(eqx.filter(model, eqx.is_array))
    batch, epochs = 64, 5
    rng = np.random.default_rng(0)
    for epoch in range(epochs):
        order = rng.permutation(len(x_train))
        losses = []
        for i in range(0, len(order) - batch + 1, batch):
            idx = order[i:i + batch]
            model, state, loss = step(model, state, jnp.asarray(x_train[idx]), jnp.asarray(y_train[idx]))
            losses.append(float(loss))
        print(f"epoch {epoch + 1}: mean training loss {np.mean(losses):.3f}")

    logits = forward(model, jnp.asarray(x_test))
    accuracy = float(jnp.mean(jnp.argmax(logits, -1) == jnp.asarray(y_test)))
    print(f"test accuracy: {accuracy:.3f} on {len(x_test)} held-out digits")
    assert accuracy > 0.9

    t_jconv = median_step_ms(step, model, state, xb, yb)
    t_eqx = median_step_ms(step, model_eqx, opt.init(eqx.filter(model_eqx, eqx.is_array)), xb, yb)
    print(f"training step (batch {batch}), median of 15: jconv {t_jconv:.2f} ms, "
          f"jax.lax (eqx.nn.Conv2d) {t_eqx:.2f} ms")


if __name__ == "__main__":
    main()
