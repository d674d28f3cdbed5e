"""Compile time and step time of a ResNet-18-like training step: jconv against jax.lax.

    python benchmarks/compile_time.py [--rounds R] [--batch N] [--size S]

The network: a 3x3 stem, four stages of two basic blocks (two 3x3 convolutions each,
64, 128, 256 and 512 channels, the first block of stages 2-4 strided with a 1x1
projection shortcut), global average pooling and a linear head: 20 convolutions,
ResNet-18's layer list on S x S images. One training step is the loss, its gradients in
every kernel and an SGD update, under `jax.jit`. Each round builds the step afresh
(`jax.clear_caches()` and jconv's caches cleared), then times tracing plus lowering
(Python's share; planning is part of jconv's lowering, every pass is planned when its
primitive is lowered) and XLA's compile, counts the fusions of the compiled program,
and times the first call and the median of later calls, the builds in turn (reversed
every other round). Printed: medians over the rounds and the ratios to lax.

A third row, jconv with ``algorithm="xla"`` (XLA's convolution for every pass), splits
jconv's compile time into the cost of its own primitive (planning, the custom
gradients) and what the chosen algorithms emit.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import jconv  # noqa: E402
from jconv import _select  # noqa: E402

STAGES = ((64, 1), (128, 2), (256, 2), (512, 2))


def conv_jconv(x, w, stride, padding, algorithm="auto"):
    return jconv.conv(x, w, stride=stride, padding=padding, algorithm=algorithm)


def conv_lax(x, w, stride, padding):
    return jax.lax.conv_general_dilated(x, w, (stride, stride), [(padding, padding)] * 2)


def init(rng, classes=10):
    def kernel(co, ci, k):
        return jnp.asarray(rng.standard_normal((co, ci, k, k)) * np.sqrt(2 / (ci * k * k)),
                           jnp.float32)

    params = {"stem": kernel(64, 3, 3), "blocks": []}
    ci = 64
    for co, stride in STAGES:
        for b in range(2):
            s = stride if b == 0 else 1
            block = {"a": kernel(co, ci, 3), "b": kernel(co, co, 3)}
            if s != 1 or ci != co:
                block["proj"] = kernel(co, ci, 1)
            params["blocks"].append((block, s))
            ci = co
    params["head"] = jnp.asarray(rng.standard_normal((ci, classes)) * 0.01, jnp.float32)
    return params


def forward(conv, weights, strides, x):
    y = jax.nn.relu(conv(x, weights["stem"], 1, 1))
    for block, s in zip(weights["blocks"], strides):
        h = jax.nn.relu(conv(y, block["a"], s, 1))
        h = conv(h, block["b"], 1, 1)
        short = conv(y, block["proj"], s, 0) if "proj" in block else y
        y = jax.nn.relu(h + short)
    return jnp.mean(y, axis=(2, 3)) @ weights["head"]


def make_step(conv, strides):
    def loss(weights, x, labels):
        logits = forward(conv, weights, strides, x)
        return -jnp.mean(jnp.sum(jax.nn.log_softmax(logits) * labels, axis=-1))

    @jax.jit
    def step(weights, x, labels):
        value, grads = jax.value_and_grad(loss)(weights, x, labels)
        return value, jax.tree.map(lambda p, g: p - 0.01 * g, weights, grads)

    return step


def measure(conv, weights, strides, x, labels, calls=5):
    jax.clear_caches()
    _select.clear_plans()
    step = make_step(conv, strides)
    t0 = time.perf_counter()
    lowered = step.trace(weights, x, labels).lower()
    lower_s = time.perf_counter() - t0
    compiled = lowered.compile()
    compile_s = time.perf_counter() - t0
    fusions = compiled.as_text().count(" fusion(")
    t0 = time.perf_counter()
    jax.block_until_ready(compiled(weights, x, labels))
    first = time.perf_counter() - t0
    runs = []
    for _ in range(calls):
        t0 = time.perf_counter()
        jax.block_until_ready(compiled(weights, x, labels))
        runs.append(time.perf_counter() - t0)
    return compile_s, lower_s, fusions, first, statistics.median(runs)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=32)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    params = init(rng)
    weights = {"stem": params["stem"], "blocks": [b for b, _ in params["blocks"]],
               "head": params["head"]}
    strides = tuple(s for _, s in params["blocks"])
    x = jnp.asarray(rng.standard_normal((args.batch, 3, args.size, args.size)), jnp.float32)
    labels = jax.nn.one_hot(rng.integers(0, 10, args.batch), 10)
    peers = {"jconv": conv_jconv, "jconv xla": functools.partial(conv_jconv, algorithm="xla"),
             "lax": conv_lax}
    results = {name: [] for name in peers}
    for r in range(args.rounds):
        order = list(peers) if r % 2 == 0 else list(reversed(peers))
        for name in order:
            results[name].append(measure(peers[name], weights, strides, x, labels))
            c, lo, fu, f, s = results[name][-1]
            print(f"round {r + 1} {name:9s}: compile {c:6.2f} s (trace and lower {lo:5.2f}, "
                  f"{fu} fusions), first call {f * 1e3:7.1f} ms, step {s * 1e3:7.1f} ms",
                  flush=True)
    med = {name: [statistics.median(v[i] for v in rows) for i in range(5)]
           for name, rows in results.items()}
    print(f"\nResNet-18-like training step, batch {args.batch}, {args.size}x{args.size}, "
          f"medians of {args.rounds} rounds ({jax.devices()[0].device_kind}):")
    print("| | compile (s) | of which trace and lower (s) | fusions | step (ms) |")
    print("|---|---|---|---|---|")
    for name, (c, lo, fu, _, s) in med.items():
        print(f"| {name} | {c:.2f} | {lo:.2f} | {fu:.0f} | {s * 1e3:.1f} |")
    cl, ll, _, _, sl = med["lax"]
    for name in ("jconv", "jconv xla"):
        cj, lj, _, _, sj = med[name]
        print(f"| {name} / lax | {cj / cl:.2f}x | {lj / ll:.1f}x | | {sj / sl:.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
