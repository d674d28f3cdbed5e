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

``--algorithms`` adds jconv with forced algorithms as extra columns (for tuning). The
cases, the peers and the timing loop are `jconv._bench`'s, which ``jconv bench`` runs too.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))

from cases import BY_NAME, CASES, Case  # noqa: E402

from jconv import _bench  # noqa: E402
from jconv._calibration import lookup, reference  # noqa: E402

torch = _bench.import_torch()
PASSES = _bench.PASSES


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


# -- the peers and the timing: jconv._bench ----------------------------------------------

jconv_fn, lax_fn, plan_of = _bench.jconv_fn, _bench.lax_fn, _bench.plan_of


def bench_case(case: Case, args) -> dict:
    result = _bench.bench_case(case, args.min_runs, args.max_runs, args.budget, args.pause,
                               algorithms=args.algorithms, torch=torch)
    x_size, w_size = math.prod(case.x_shape), math.prod(case.w_shape)
    y_size = math.prod(jax.eval_shape(jconv_fn(case), jax.ShapeDtypeStruct(case.x_shape, case.dtype),
                                      jax.ShapeDtypeStruct(case.w_shape, case.dtype)).shape)
    result["machine_limit"] = {p: machine_limit(case, p, x_size + w_size + y_size) for p in PASSES}
    return result


# -- output ------------------------------------------------------------------------------


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
            best, tb = _bench.best_peer(timings)
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
            ratios.append(t["jconv"]["median"] / _bench.best_peer(t)[1])
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
        best, tb = _bench.best_peer(timings)
        summary.append(
            f"{pass_name} {timings['jconv']['median'] * 1e3:.3g} ms "
            f"({timings['jconv']['median'] / tb:.2f}x {best})"
        )
    print(f"round {round_index + 1} {case.name:16s} " + "; ".join(summary)
          + f"  [{seconds:.0f} s]", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
