"""Side-by-side benchmark: jconv against jax.lax, PyTorch (CPU) and SciPy.

    python benchmarks/run.py [--quick] [--cases NAME ...] [--algorithms NAME ...]

For every case in `benchmarks/cases.py`, the forward pass and the forward plus backward
pass (the output and the gradients in both operands for a fixed random cotangent) are
timed for jconv (``algorithm="auto"``), ``jax.lax.conv_general_dilated``, PyTorch and,
for the signal case, ``scipy.signal.convolve`` (forward only). The peers run in one
process, interleaved call by call in a rotating order, and each time reported is the
median of several calls after a warm-up; jconv's first call (trace + compile + run) is
reported next to it. Results go to ``benchmarks/results/``: ``results.md`` (a table),
``results.json`` and ``results.png`` (jconv's time over the best peer's, per case).

``--algorithms`` adds jconv with forced algorithms as extra columns (for tuning).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # torch's threads must not spin on JAX's cores

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax import lax  # noqa: E402

jax.config.update("jax_enable_x64", True)

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))

from cases import BY_NAME, CASES, Case  # noqa: E402

import jconv  # noqa: E402
from jconv._calibration import lookup, reference  # noqa: E402
from jconv._select import explain_spec  # noqa: E402
from jconv._spec import signal_plan  # noqa: E402

try:
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(os.cpu_count() or 1)
except ImportError:  # pragma: no cover - optional peer
    torch = None
try:
    import scipy.signal as sps
except ImportError:  # pragma: no cover - optional peer
    sps = None

PASSES = ("forward", "forward+backward")


def machine_limit(case: Case, pass_name: str, elements: int) -> float:
    """The seconds this machine needs at least for a pass of the direct sum.

    The larger of the compute time (the useful flops at the calibrated float32 matrix-
    product rate, float64 slower by its calibrated factor) and the memory time (x, w and
    y read or written once at the calibrated streaming rate; ``elements`` counts them).
    Forward+backward has three times the flops and also reads the cotangent and writes
    dx and dw: twice the elements. Algorithms that do fewer products than the direct sum
    (FFT, Winograd) can beat this limit.
    """
    c = (lookup("cpu") or reference()).constants
    rate = c["matmul_flops"] / (c["matmul_f64_factor"] if case.dtype == "float64" else 1.0)
    both = pass_name == "forward+backward"
    flops = case.flops * (3 if both else 1)
    memory = np.dtype(case.dtype).itemsize * elements * (2 if both else 1) / c["stream_bytes"]
    return max(flops / rate, memory)


# -- the peers ---------------------------------------------------------------------------


def _tuple(v, nd):
    return (v,) * nd


def jconv_fn(case: Case, algorithm: str = "auto"):
    nd = case.ndim
    if case.kind == "signal":
        return lambda a, b: jconv.convolve(a, b, "full", axes=-1, method=algorithm)
    if case.kind == "conv_transpose":
        return lambda x, w: jconv.conv_transpose(
            x, w, stride=case.stride, padding=case.padding, output_padding=case.output_padding,
            dilation=case.dilation, groups=case.groups, algorithm=algorithm,
        )
    return lambda x, w: jconv.conv(
        x, w, stride=case.stride, padding=case.padding, dilation=_tuple(case.dilation, nd),
        groups=case.groups, algorithm=algorithm,
    )


def lax_fn(case: Case):
    nd = case.ndim
    if case.kind == "signal":
        k = case.w_shape[-1]

        def f(a, b):
            y = lax.conv_general_dilated(
                a[:, None], jnp.flip(b, -1)[None], (1,), [(k - 1, k - 1)]
            )
            return y[:, 0]

        return f
    if case.kind == "conv_transpose":
        d, s, p, k = case.dilation, case.stride, case.padding, case.w_shape[2:]
        g = case.groups

        def f(x, w):
            # (C_in, C_out/G, *K) -> (C_out, C_in/G, *K), flipped: the usual lax recipe
            cin, cog = w.shape[:2]
            wt = w.reshape(g, cin // g, cog, *k).swapaxes(1, 2).reshape(g * cog, cin // g, *k)
            wt = jnp.flip(wt, tuple(range(2, 2 + nd)))
            pads = [(d * (kk - 1) - p, d * (kk - 1) - p + case.output_padding) for kk in k]
            return lax.conv_general_dilated(
                x, wt, (1,) * nd, pads, lhs_dilation=(s,) * nd, rhs_dilation=(d,) * nd,
                feature_group_count=g,
            )

        return f
    return lambda x, w: lax.conv_general_dilated(
        x, w, (case.stride,) * nd, [(case.padding, case.padding)] * nd,
        rhs_dilation=(case.dilation,) * nd, feature_group_count=case.groups,
    )


def torch_fn(case: Case):
    nd = case.ndim
    if case.kind == "signal":
        k = case.w_shape[-1]
        return lambda a, b: F.conv1d(a[:, None], torch.flip(b, (1,))[None], padding=k - 1)[:, 0]
    if case.kind == "conv_transpose":
        f = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[nd - 1]
        return lambda x, w: f(
            x, w, stride=case.stride, padding=case.padding, output_padding=case.output_padding,
            groups=case.groups, dilation=case.dilation,
        )
    f = (F.conv1d, F.conv2d, F.conv3d)[nd - 1]
    return lambda x, w: f(
        x, w, stride=case.stride, padding=case.padding, dilation=case.dilation, groups=case.groups
    )


def _jax_runners(fn, x, w, ct):
    fwd = jax.jit(fn)

    def both(a, b, c):  # the cotangent is an argument, as in training, not a constant
        y, pull = jax.vjp(fn, a, b)
        return (y, *pull(c))

    fb = jax.jit(both)
    return (
        lambda: jax.block_until_ready(fwd(x, w)),
        lambda: jax.block_until_ready(fb(x, w, ct)),
    )


def _torch_runners(fn, x, w, ct):
    xt, wt, ctt = (torch.from_numpy(np.array(a)) for a in (x, w, ct))
    xg, wg = xt.clone().requires_grad_(True), wt.clone().requires_grad_(True)

    def fwd():
        with torch.no_grad():
            return fn(xt, wt)

    def fb():
        xg.grad = wg.grad = None
        y = fn(xg, wg)
        y.backward(ctt)
        return y, xg.grad, wg.grad

    return fwd, fb


def _scipy_runner(case: Case, x, w):
    a, b = np.asarray(x), np.asarray(w)  # b is (1, K): convolve along the last axis
    return lambda: sps.convolve(a, b, mode="full")


# -- timing ------------------------------------------------------------------------------


def _first_call(f) -> float:
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


def _interleaved(runners: dict, min_runs: int, max_runs: int, budget: float, pause: float):
    """Median seconds per runner; one call of each per round, in a rotating order."""
    for f in runners.values():  # warm-up (compiles)
        f()
    probe = {}
    for name, f in runners.items():
        probe[name] = _first_call(f)
    total = sum(probe.values())
    rounds = int(min(max_runs, max(min_runs, budget / max(total, 1e-6))))
    times = {name: [t] for name, t in probe.items()}
    names = list(runners)
    for r in range(rounds - 1):
        order = names[r % len(names):] + names[: r % len(names)]
        for name in order:
            if pause:
                time.sleep(pause)
            t0 = time.perf_counter()
            runners[name]()
            times[name].append(time.perf_counter() - t0)
    return {
        name: {"median": statistics.median(ts), "min": min(ts), "runs": len(ts)}
        for name, ts in times.items()
    }


def _operands(case: Case, rng):
    dtype = np.dtype(case.dtype)
    x = rng.standard_normal(case.x_shape).astype(dtype)
    w = rng.standard_normal(case.w_shape).astype(dtype)
    y = np.asarray(jax.eval_shape(jconv_fn(case), x, w).shape)
    ct = rng.standard_normal(tuple(int(v) for v in y)).astype(dtype)
    return x, w, ct


def plan_of(case: Case) -> dict[str, str]:
    if case.kind == "signal":  # the canonical convolution that jconv.convolve runs
        spec = signal_plan(
            "jconv.convolve", case.x_shape, case.w_shape, "full", -1, np.dtype(case.dtype)
        ).spec
        plan = explain_spec("jconv.convolve", spec, "auto", differentiable=True)
        return {p.role: p.chosen for p in plan.passes}
    plan = jconv.explain(
        case.x_shape, case.w_shape, transpose=case.kind == "conv_transpose", dtype=case.dtype,
        stride=case.stride, padding=case.padding, groups=case.groups,
        **({"output_padding": case.output_padding} if case.kind == "conv_transpose" else {}),
    )
    return {p.role: p.chosen for p in plan.passes}


def bench_case(case: Case, args) -> dict:
    rng = np.random.default_rng(0)
    x, w, ct = _operands(case, rng)
    xj, wj, ctj = jnp.asarray(x), jnp.asarray(w), jnp.asarray(ct)
    result = {"title": case.title, "flops": case.flops, "plan": plan_of(case), "passes": {}}
    result["machine_limit"] = {
        p: machine_limit(case, p, x.size + w.size + ct.size) for p in PASSES
    }
    # jconv first: its first call is trace + compile + run, before anything else ran
    jf, jb = _jax_runners(jconv_fn(case), xj, wj, ctj)
    result["first_call"] = {"forward": _first_call(jf), "forward+backward": _first_call(jb)}
    peers = {"jconv": (jf, jb)}
    for name in args.algorithms:
        peers[f"jconv[{name}]"] = _jax_runners(jconv_fn(case, name), xj, wj, ctj)
    peers["jax.lax"] = _jax_runners(lax_fn(case), xj, wj, ctj)
    if torch is not None:
        peers["torch"] = _torch_runners(torch_fn(case), x, w, ct)
    for i, pass_name in enumerate(PASSES):
        runners = {name: pair[i] for name, pair in peers.items()}
        if sps is not None and case.kind == "signal" and pass_name == "forward":
            runners["scipy"] = _scipy_runner(case, x, w)
        result["passes"][pass_name] = _interleaved(
            runners, args.min_runs, args.max_runs, args.budget, args.pause
        )
    return result


# -- output ------------------------------------------------------------------------------


def _best_peer(timings: dict) -> tuple[str, float]:
    peers = {k: v["median"] for k, v in timings.items() if not k.startswith("jconv")}
    name = min(peers, key=peers.get)
    return name, peers[name]


def _ms(t: float) -> str:
    return f"{t * 1e3:.3g}" if t < 10 else f"{t * 1e3:.4g}"


def markdown(results: dict, meta: dict) -> str:
    extra = [f"jconv[{a}]" for a in meta["algorithms"]]
    head = ["case", "pass", "jconv ms", "first call s", *[f"{e} ms" for e in extra],
            "jax.lax ms", "PyTorch ms", "SciPy ms", "jconv GFLOP/s", "best peer",
            "jconv / best", "jconv / limit", "algorithms (fwd / dx / dw)"]
    lines = [
        "# jconv benchmark",
        "",
        f"{meta['machine']}; jax {meta['jax']}, torch {meta['torch']}; median of "
        f"{meta['min_runs']}-{meta['max_runs']} interleaved calls per entry"
        + (f", then the median over {meta['rounds']} rounds of all cases"
           if meta.get("rounds", 1) > 1 else "") + ". "
        "Ratio < 1: jconv is faster than the best peer. *limit*: the machine's least time "
        "for the direct sum, the larger of its flops at the matrix-product rate and its "
        "operands at the streaming rate (`machine_limit` in run.py; FFT and Winograd do "
        "fewer products and can go below it).",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for name, r in results.items():
        plan = r["plan"]
        algos = " / ".join(plan.get(k, "-") for k in ("forward", "input_grad", "kernel_grad"))
        for pass_name, timings in r["passes"].items():
            j = timings["jconv"]["median"]
            best, tb = _best_peer(timings)
            flops = r["flops"] * (3 if pass_name == "forward+backward" else 1)
            row = [
                name, pass_name, _ms(j), f"{r['first_call'][pass_name]:.2f}",
                *[_ms(timings[e]["median"]) if e in timings else "-" for e in extra],
                *[_ms(timings[p]["median"]) if p in timings else "-"
                  for p in ("jax.lax", "torch", "scipy")],
                f"{flops / j / 1e9:.1f}", best, f"{j / tb:.2f}",
                f"{j / r['machine_limit'][pass_name]:.2f}" if "machine_limit" in r else "-",
                algos,
            ]
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def chart(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(results)
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(names) + 1.5))
    for i, pass_name in enumerate(PASSES):
        ratios = []
        for n in names:
            t = results[n]["passes"][pass_name]
            ratios.append(t["jconv"]["median"] / _best_peer(t)[1])
        ys = np.arange(len(names)) + (i - 0.5) * 0.38
        ax.barh(ys, ratios, height=0.36, label=pass_name)
    ax.axvline(1.0, color="k", lw=1)
    ax.set_xscale("log")
    ax.set_yticks(np.arange(len(names)), names)
    ax.invert_yaxis()
    ax.set_xlabel("jconv time / best of jax.lax, PyTorch, SciPy (log; < 1 is faster)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls per entry")
    parser.add_argument("--cases", nargs="+", choices=sorted(BY_NAME), help="cases to run")
    parser.add_argument("--algorithms", nargs="+", default=[], help="forced jconv variants")
    parser.add_argument("--out", default=str(ROOT / "results"), help="output directory")
    parser.add_argument("--pause", type=float, default=0.0, help="seconds between calls")
    parser.add_argument("--rounds", type=int, default=1,
                        help="run every case this many times, in turn; report medians")
    args = parser.parse_args(argv)
    args.min_runs, args.max_runs, args.budget = (3, 7, 1.5) if args.quick else (5, 21, 6.0)
    cases = [BY_NAME[n] for n in args.cases] if args.cases else CASES
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    meta = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "jax": jax.__version__,
        "torch": torch.__version__ if torch is not None else None,
        "min_runs": args.min_runs,
        "max_runs": args.max_runs,
        "algorithms": args.algorithms,
        "rounds": args.rounds,
    }
    rounds = {case.name: [] for case in cases}
    t_start = time.perf_counter()
    for i in range(args.rounds):
        for case in cases:
            t0 = time.perf_counter()
            rounds[case.name].append(bench_case(case, args))
            _report(case, rounds[case.name][-1], i, time.perf_counter() - t0)
    results = {name: merge_rounds(rs) for name, rs in rounds.items()}
    meta["seconds"] = time.perf_counter() - t_start
    (out / "results.json").write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    (out / "results.md").write_text(markdown(results, meta))
    chart(results, out / "results.png")
    print((out / "results.md").read_text())
    return 0


def merge_rounds(rounds: list[dict]) -> dict:
    """One result from several rounds of a case: per pass and runner, the median of the
    rounds' medians (and each round's median, to show the spread); the first call is the
    first round's (later rounds find jconv's functions compiled)."""
    merged = dict(rounds[0], passes={})
    for pass_name in rounds[0]["passes"]:
        merged["passes"][pass_name] = {}
        for runner in rounds[0]["passes"][pass_name]:
            per = [r["passes"][pass_name][runner] for r in rounds]
            merged["passes"][pass_name][runner] = {
                "median": statistics.median(p["median"] for p in per),
                "min": min(p["min"] for p in per),
                "runs": sum(p["runs"] for p in per),
                "round_medians": [p["median"] for p in per],
            }
    return merged


def _report(case: Case, r: dict, round_index: int, seconds: float) -> None:
    summary = []
    for pass_name, timings in r["passes"].items():
        best, tb = _best_peer(timings)
        summary.append(
            f"{pass_name} {timings['jconv']['median'] * 1e3:.3g} ms "
            f"({timings['jconv']['median'] / tb:.2f}x {best})"
        )
    print(f"round {round_index + 1} {case.name:16s} " + "; ".join(summary)
          + f"  [{seconds:.0f} s]", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
