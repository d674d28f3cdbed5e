"""Run every proof script, show progress and a summary table; exit 1 if anything fails.

Discovers proofs/*.py (every script except this one and helpers whose names start
with an underscore, so new proofs are picked up automatically), runs them with the
current Python interpreter in ``--jobs`` worker processes, each of which imports JAX
once and runs several scripts in turn (sharing compiled functions; ``--isolate`` runs
every script in a fresh process of its own instead), and prints one row per theorem: its
statement, the scope proved (all sizes with symbolic sizes, and the sizes verified),
the status and the time. ``--quick`` asks every script for its smallest sizes;
``--report FILE.md`` writes the statements and results as Markdown with LaTeX math.
The same as ``jconv prove``; the logic lives in ``jconv._prove``.

    python proofs/run_all.py
    python proofs/run_all.py --quick --report proofs.md
    python proofs/run_all.py adjoint groups      # only these
"""

from __future__ import annotations

import argparse
import sys
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
if (HERE.parent / "jconv").is_dir() and str(HERE.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent))  # run from a checkout without installing

from jconv import _prove  # noqa: E402


def main(argv=None) -> int:
    """Run the proofs named in ``argv`` (default: all); 0 when every one holds, else 1."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n".join(__doc__.splitlines()[1:]))
    p.add_argument("names", nargs="*", help="run only these proofs (default: all)")
    p.add_argument("--quick", action="store_true", help="the smallest sizes")
    p.add_argument("--report", type=Path, default=None, help="write a Markdown report here")
    p.add_argument("--jobs", type=int, default=2, help="scripts run in parallel (default 2)")
    p.add_argument("--timeout", type=float, default=600,
                   help="seconds per script (with --isolate; a worker is not interrupted)")
    p.add_argument("--isolate", action="store_true",
                   help="run every script in a fresh process of its own (slower: each imports "
                        "JAX and compiles again)")
    p.add_argument("-v", "--verbose", action="store_true", help="print every script's output")
    args = p.parse_args(argv)
    try:
        scripts = _prove.discover(HERE, args.names)
    except _prove.UnknownProof as e:
        raise SystemExit(str(e)) from None
    start = time.perf_counter()
    print(f"running {len(scripts)} proofs ({'quick' if args.quick else 'default'} sizes, "
          f"{args.jobs} at a time) with {sys.executable}")

    def done(k, total, r):
        print(f"[{k:>2}/{total}] {r['name']:<26} {r['status']:<7} {r['elapsed']:6.1f} s", flush=True)
        if args.verbose or r["status"] == "FAILS":
            print(textwrap.indent(r["output"].rstrip()[-4000:], "    | "))

    records = _prove.run(scripts, args.quick, args.jobs, args.timeout, on_done=done,
                         isolate=args.isolate)
    total = time.perf_counter() - start
    print()
    print(_prove.table(records))
    print("\n" + _prove.summary(records, total))
    if args.report:
        _prove.report(records, args.report, args.quick, total)
        print(f"wrote {args.report}")
    return 1 if _prove.failed(records) else 0


if __name__ == "__main__":
    sys.exit(main())
