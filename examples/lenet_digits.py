"""A LeNet-style network on scikit-learn's 8x8 digits, trained with Optax, on jconv.

The model is plain JAX: a dict of arrays and a function. Its two convolutions call
``jconv.conv``; a twin of the model calls ``jax.lax.conv_general_dilated`` instead, with
the same parameters. The script checks that both give the same gradients for one batch,
trains the jconv model with Adam for a few epochs, checks its test accuracy, and times one
jitted training step of each (the median of several steps, after compilation).

Run: python examples/lenet_digits.py   (needs optax and scikit-learn)
"""

import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import jconv


def conv_jconv(x, w, b):
    """A 3x3 "same" convolution layer, NCHW / OIHW, by jconv."""
    return jconv.conv(x, w, b, padding="same")


def conv_lax(x, w, b):
    """The same layer by ``jax.lax``."""
    y = jax.lax.conv_general_dilated(x, w, (1, 1), "SAME", dimension_numbers=("NCHW", "OIHW", "NCHW"))
    return y + b[:, None, None]


def init(key):
    """Parameters: conv 1 -> 16 (3x3), pool, conv 16 -> 32 (3x3), pool, dense 128 -> 64 -> 10."""
    k1, k2, k3, k4 = jax.random.split(key, 4)

    def he(k, shape, fan_in):
        return jax.random.normal(k, shape) * jnp.sqrt(2.0 / fan_in)

    return {
        "c1": (he(k1, (16, 1, 3, 3), 9), jnp.zeros(16)),
        "c2": (he(k2, (32, 16, 3, 3), 16 * 9), jnp.zeros(32)),
        "d1": (he(k3, (32 * 2 * 2, 64), 128), jnp.zeros(64)),
        "d2": (he(k4, (64, 10), 64), jnp.zeros(10)),
    }


def pool(x):
    """2x2 max pooling, stride 2, NCHW."""
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


def make_model(conv):
    def model(params, x):
        x = pool(jax.nn.relu(conv(x, *params["c1"])))    # (N, 16, 4, 4)
        x = pool(jax.nn.relu(conv(x, *params["c2"])))    # (N, 32, 2, 2)
        x = x.reshape(x.shape[0], -1)
        x = jax.nn.relu(x @ params["d1"][0] + params["d1"][1])
        return x @ params["d2"][0] + params["d2"][1]
    return model


def make_step(model, opt):
    def loss_fn(params, x, y):
        return optax.softmax_cross_entropy_with_integer_labels(model(params, x), y).mean()

    @jax.jit
    def step(params, state, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        updates, state = opt.update(grads, state, params)
        return optax.apply_updates(params, updates), state, loss

    return loss_fn, step


def median_step_ms(step, params, state, x, y, repeats=15):
    """Median wall time of one compiled training step, in ms."""
    jax.block_until_ready(step(params, state, x, y))      # compile
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        jax.block_until_ready(step(params, state, x, y))
        times.append(time.perf_counter() - t)
    return 1e3 * float(np.median(times))


def main() -> None:
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, None]        # (1797, 1, 8, 8)
    x_train, x_test, y_train, y_test = train_test_split(
        images, digits.target, test_size=0.25, random_state=0, stratify=digits.target)

    model, model_lax = make_model(conv_jconv), make_model(conv_lax)
    opt = optax.adam(3e-3)
    params = init(jax.random.key(0))
    state = opt.init(params)
    loss_fn, step = make_step(model, opt)
    loss_lax, step_lax = make_step(model_lax, opt)

    # one batch: the same loss and gradients through jconv and through lax
    xb, yb = jnp.asarray(x_train[:64]), jnp.asarray(y_train[:64])
    g = jax.jit(jax.grad(loss_fn))(params, xb, yb)
    g_lax = jax.jit(jax.grad(loss_lax))(params, xb, yb)
    worst = max(float(jnp.max(jnp.abs(a - b)) / (jnp.max(jnp.abs(b)) + 1e-30))
                for a, b in zip(jax.tree.leaves(g), jax.tree.leaves(g_lax)))
    print(f"gradients of one batch, jconv vs jax.lax: largest relative difference {worst:.1e}")
    assert worst < 1e-4

    batch, epochs = 64, 5
    rng = np.random.default_rng(0)
    for epoch in range(epochs):
        order = rng.permutation(len(x_train))
        losses = []
        for i in range(0, len(order) - batch + 1, batch):
            idx = order[i:i + batch]
            params, state, loss = step(params, state, jnp.asarray(x_train[idx]), jnp.asarray(y_train[idx]))
            losses.append(float(loss))
        print(f"epoch {epoch + 1}: mean training loss {np.mean(losses):.3f}")

    logits = jax.jit(model)(params, jnp.asarray(x_test))
    accuracy = float(jnp.mean(jnp.argmax(logits, axis=-1) == jnp.asarray(y_test)))
    print(f"test accuracy: {accuracy:.3f} on {len(x_test)} held-out digits")
    assert accuracy > 0.9
    np.testing.assert_allclose(logits, jax.jit(model_lax)(params, jnp.asarray(x_test)), rtol=1e-4, atol=1e-4)

    t_jconv = median_step_ms(step, params, state, xb, yb)
    t_lax = median_step_ms(step_lax, params, state, xb, yb)
    print(f"training step (batch {batch}), median of 15: jconv {t_jconv:.2f} ms, jax.lax {t_lax:.2f} ms")


if __name__ == "__main__":
    main()
