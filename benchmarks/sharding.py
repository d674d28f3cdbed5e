"""Sharded convolutions on 8 host devices: collectives against lax, compile and step time.

Run: python benchmarks/sharding.py [--runs 3] [--algorithms all] [--out results/sharding.md]

1. The collectives table: every case of `tests/sharded_cases.py` (batch, channel, group
   and spatial splits in 1-D, 2-D and 3-D, a transposed convolution, a long signal) for
   every algorithm, one program holding the output and both gradients, counted in the
   compiled HLO beside lax's for the same program.
2. The data-parallel example (`examples/data_parallel.py`): compile time and median step
   time, jconv against lax, each run in a fresh process; medians over ``--runs``.

Each part runs in its own process, which asks XLA for 8 host devices. On a 2-core
machine the 8 devices share the 2 cores, so the step times say little about a real
mesh; the collective counts and the ratios are what carry over.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def collectives_table(algorithms: str) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "rows.json"
        subprocess.run([sys.executable, str(ROOT / "tests" / "sharded_cases.py"), "--algorithms",
                        algorithms, "--json", str(out)], check=True, stdout=subprocess.DEVNULL)
        rows = json.loads(out.read_text())
    lines = ["| case | algorithm | jconv gather / reduce / permute | lax | compile s (jconv / lax) "
             "| max rel. error |", "|---|---|---|---|---|---|"]
    for r in rows:
        lax = "{all-gather} / {all-reduce} / {collective-permute}".format(**r["lax"])
        if "refused" in r:
            unsharded = "as unsharded" if r["refused_unsharded"] else "only when sharded"
            lines.append(f"| {r['case']} | {r['algorithm']} | refused ({unsharded}) | {lax} | | |")
            continue
        mine = "{all-gather} / {all-reduce} / {collective-permute}".format(**r["jconv"])
        lines.append(f"| {r['case']} | {r['algorithm']} | {mine} | {lax} | "
                     f"{r['compile_s']:.2f} / {r['lax_compile_s']:.2f} | {r['err']:.1e} |")
    return lines


def data_parallel(runs: int) -> list[str]:
    code = ("import json, sys; sys.path.insert(0, 'examples'); import data_parallel as d; "
            "r = d.main(); print('JSON', json.dumps({k: {'compile_s': v['compile_s'], "
            "'step_ms': v['step_ms']} for k, v in r.items()}))")
    samples = []
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True,
                             capture_output=True, text=True).stdout
        samples.append(json.loads(out.split("JSON", 1)[1]))
    med = {(n, k): statistics.median(s[n][k] for s in samples)
           for n in ("jconv", "lax") for k in ("compile_s", "step_ms")}
    lo_hi = {k: (min(s["jconv"][k] / s["lax"][k] for s in samples),
                 max(s["jconv"][k] / s["lax"][k] for s in samples))
             for k in ("compile_s", "step_ms")}
    return [
        f"| | jconv | lax | jconv / lax (range over {runs} runs) |", "|---|---|---|---|",
        f"| compile | {med['jconv', 'compile_s']:.2f} s | {med['lax', 'compile_s']:.2f} s | "
        f"{lo_hi['compile_s'][0]:.2f}-{lo_hi['compile_s'][1]:.2f} |",
        f"| step (median) | {med['jconv', 'step_ms']:.1f} ms | {med['lax', 'step_ms']:.1f} ms | "
        f"{lo_hi['step_ms'][0]:.2f}-{lo_hi['step_ms'][1]:.2f} |",
    ]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--algorithms", default="all")
    p.add_argument("--out", default=None, help="also write the tables to this Markdown file")
    args = p.parse_args(argv)
    text = "\n".join(["## Collectives", "", *collectives_table(args.algorithms), "",
                      "## Data-parallel training step", "", *data_parallel(args.runs), ""])
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
