"""Accuracy of every algorithm against XLA's convolution: the table of the docs' accuracy page.

    python benchmarks/accuracy.py [--out docs/accuracy.md]

Per algorithm and dimensionality (a dense 3x3 layer in 2-D and 3-D, its 1-D analogue,
and the same with a larger kernel where FFT applies), each pass (forward, input
gradient, kernel gradient) forced, in float32 against a float64 reference:

* **standard**: the normwise relative error on standard-normal data, as a ratio to the
  error of XLA's convolution (`jax.lax`) on the same data;
* **range**: the same ratio on dynamic-range data (1e6 in one corner block, 1e-3
  elsewhere), measured on the outputs that see only the quiet region;
* **integers**: the fraction of outputs that differ from the exact result on
  integer-valued data (XLA: 0);
* **NaN spread**: the outputs a single NaN in x reaches, against XLA's count;
* **overflow**: the largest input scale (a power of ten) at which every output is still
  finite, with a kernel of standard-normal entries (XLA's in brackets).

Writes a markdown table (default ``docs/accuracy.md``) and prints it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import jconv  # noqa: E402
from jconv import _select  # noqa: E402

LAYERS = {  # name: (x shape, w shape, padding)
    "1-D k=3": ((4, 16, 512), (16, 16, 3), 1),
    "1-D k=65": ((2, 4, 2048), (4, 4, 65), 32),
    "2-D 3x3": ((2, 16, 24, 24), (16, 16, 3, 3), 1),
    "2-D 15x15": ((2, 4, 32, 32), (4, 4, 15, 15), 7),
    "3-D 3x3x3": ((1, 8, 12, 12, 12), (8, 8, 3, 3, 3), 1),
}
SCALES = [10.0 ** e for e in range(30, 39)]


def _specs(name):
    xs, ws, pad = LAYERS[name]
    plan32 = jconv.explain(xs, ws, padding=pad)
    plan64 = jconv.explain(xs, ws, padding=pad, dtype="float64")
    return [(p.role, p.spec, plan64[p.role].spec) for p in plan32.passes]


def _run(choice, x, w):
    return np.asarray(jax.jit(lambda a, b: choice.run(a, b))(x, w))


def _rel(y, ref, where=...):
    d = np.asarray(y, np.float64)[where] - ref[where]
    return np.linalg.norm(d) / np.linalg.norm(ref[where])


def measure(name, role, s32, s64, algorithm, planner, rng):
    """The row of one algorithm on one pass, or None when it refuses the pass."""
    if _select.refusal(algorithm, s32) is not None:
        return None
    mine, lax_ = planner.forced(algorithm, s32), planner.forced("xla", s32)
    ref64 = planner.forced("xla", s64)
    x = rng.standard_normal(s32.x_shape).astype(np.float32)
    w = rng.standard_normal(s32.w_shape).astype(np.float32)
    ref = _run(ref64, x.astype(np.float64), w.astype(np.float64))
    standard = _rel(_run(mine, x, w), ref) / _rel(_run(lax_, x, w), ref)
    # dynamic range: a loud corner block, quiet elsewhere; compare the far corner
    xr = (1e-3 * rng.standard_normal(s32.x_shape)).astype(np.float32)
    block = tuple(slice(0, max(1, n // 8)) for n in s32.in_size)
    xr[(slice(None),) * 3 + block] = 1e6
    ref_r = _run(ref64, xr.astype(np.float64), w.astype(np.float64))
    quiet = (slice(None),) * 3 + tuple(slice(n // 2, None) for n in s32.out_size)
    ok = np.linalg.norm(ref_r[quiet]) > 0
    range_ratio = (_rel(_run(mine, xr, w), ref_r, quiet) / max(_rel(_run(lax_, xr, w), ref_r, quiet),
                                                               1e-12)) if ok else float("nan")
    # integer-valued data
    xi = rng.integers(-8, 9, s32.x_shape).astype(np.float32)
    wi = rng.integers(-8, 9, s32.w_shape).astype(np.float32)
    exact = _run(ref64, xi.astype(np.float64), wi.astype(np.float64))
    off = float(np.mean(_run(mine, xi, wi) != exact))
    # one NaN in x
    xn = x.copy()
    xn[(0, 0, 0) + tuple(n // 2 for n in s32.in_size)] = np.nan
    spread = int(np.isnan(_run(mine, xn, w)).sum()), int(np.isnan(_run(lax_, xn, w)).sum())

    def overflow(choice):
        finite = None
        for scale in SCALES:
            y = _run(choice, x * np.float32(scale), w)
            if not np.isfinite(y).all():
                break
            finite = scale
        return finite

    return dict(layer=name, role=role, algorithm=algorithm, standard=standard,
                range=range_ratio, integers=off, spread=spread,
                overflow=(overflow(mine), overflow(lax_)))


def _fmt_scale(v):
    return "-" if v is None else f"1e{int(round(np.log10(v)))}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "accuracy.md")
    args = parser.parse_args(argv)
    planner = _select._planner("cpu")
    rows = []
    for name in LAYERS:
        for role, s32, s64 in _specs(name):
            for algorithm in jconv.algorithms():
                row = measure(name, role, s32, s64, algorithm, planner,
                              np.random.default_rng(0))
                if row is not None:
                    rows.append(row)
                    print(row, flush=True)
    lines = [
        "| layer | pass | algorithm | error / lax's (standard) | error / lax's (range) | "
        "integer outputs off | NaN spread (lax) | finite up to (lax) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['layer']} | {r['role']} | {r['algorithm']} | {r['standard']:.2f} | "
            f"{r['range']:.3g} | {100 * r['integers']:.0f}% | {r['spread'][0]} "
            f"({r['spread'][1]}) | {_fmt_scale(r['overflow'][0])} "
            f"({_fmt_scale(r['overflow'][1])}) |")
    table = "\n".join(lines)
    print(table)
    text = args.out.read_text() if args.out.exists() else ""
    start, end = "<!-- accuracy table -->", "<!-- end of accuracy table -->"
    if start in text and end in text:
        text = text[: text.index(start) + len(start)] + "\n" + table + "\n" + text[text.index(end):]
    else:
        text = f"{text}\n{start}\n{table}\n{end}\n"
    args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
