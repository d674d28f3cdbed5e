"""Shared helpers of the proof scripts (a helper, not a proof: run_all skips it).

A proof script states its theorem in its module docstring, builds its argument parser
with `parser`, runs checks (functions of `jconv.symbolic` that return a
`CheckResult`) through a `Proof`, which prints each statement, how it was proved and
for which sizes, and returns the exit code from `Proof.finish` (0 when nothing fails).

`run_all.py` talks to the scripts through two environment variables, so that any
script can take part: ``JCONV_PROOF_QUICK=1`` asks for the smallest sizes (same as
``--quick``), and ``JCONV_PROOF_JSON=path`` asks for the results as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(ROOT))

QUICK_ENV = "JCONV_PROOF_QUICK"
JSON_ENV = "JCONV_PROOF_JSON"


def parser(doc: str, sizes: dict) -> argparse.ArgumentParser:
    """An argument parser with one option per size, ``--quick``, ``--json``, ``--algorithms``.

    ``sizes`` maps an option name to ``(default, quick_default, help)``.
    """
    p = argparse.ArgumentParser(
        description=doc.strip().splitlines()[0],
        epilog=textwrap.dedent("\n".join(doc.strip().splitlines()[1:])),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    for name, (default, quick, help_text) in sizes.items():
        p.add_argument(f"--{name.replace('_', '-')}", dest=name, type=int, default=None,
                       help=f"{help_text} (default {default}; --quick: {quick})")
    p.add_argument("--quick", action="store_true",
                   help=f"the smallest sizes (also: environment {QUICK_ENV}=1)")
    p.add_argument("--json", default=None,
                   help=f"write the results as JSON to this file (also: {JSON_ENV})")
    p.add_argument("--algorithms", default=None,
                   help="comma-separated algorithms to check (default: all of "
                        "jconv.algorithms())")
    p.set_defaults(_sizes=sizes)
    return p


def parse(p: argparse.ArgumentParser, argv=None) -> argparse.Namespace:
    """Parse, filling each size not given from the default or, with --quick, the quick value."""
    args = p.parse_args(argv)
    quick = args.quick or os.environ.get(QUICK_ENV) == "1"
    args.quick = quick
    for name, (default, quick_default, _) in args._sizes.items():
        if getattr(args, name) is None:
            setattr(args, name, quick_default if quick else default)
    args.json = args.json or os.environ.get(JSON_ENV)
    return args


def algorithms(args) -> tuple[str, ...]:
    """The algorithms to check: every registered one, read at run time, or the subset asked."""
    import jconv

    names = jconv.algorithms()
    if args.algorithms:
        wanted = tuple(a.strip() for a in args.algorithms.split(","))
        unknown = [a for a in wanted if a not in names]
        if unknown:
            raise SystemExit(f"unknown algorithms {unknown}; available: {list(names)}")
        return wanted
    return names


def _wrap(text: str, indent: str) -> str:
    return textwrap.fill(text, width=100, initial_indent=indent, subsequent_indent=indent)


class Proof:
    """Collects and prints the results of one proof script.

    Example:
        proof = Proof(__doc__, "n = 8")
        proof.check(jconv.symbolic.prove_commutativity())
        proof.numeric(args, lambda alg: [
            jconv.symbolic.check_operator("convolve", (8,), (3,), algorithm=alg)])
        return proof.finish(args)
    """

    def __init__(self, doc: str, sizes: str):
        lines = doc.strip().splitlines()
        self.theorem = lines[0].strip().rstrip(".")
        self.doc = doc.strip()
        self.sizes = sizes
        self.results = []
        self.start = time.perf_counter()
        print(f"THEOREM: {self.theorem}")
        print(f"sizes: {sizes}")

    def section(self, title: str) -> None:
        """Print a section heading."""
        print(f"\n== {title}")

    def check(self, result):
        """Record and print one `CheckResult`; returns it."""
        self.results.append(result)
        print(f"  [{result.status:>7}] {result.name}  ({result.scope}; {result.elapsed:.2f} s)")
        print(_wrap(f"how: {result.details}", " " * 12))
        return result

    def numeric(self, args, make) -> None:
        """Run ``make(algorithm) -> CheckResult | list`` for every algorithm to check.

        The registry is read when the script runs, so algorithms added later are
        checked too; a result whose algorithm refuses the configuration is reported as
        skipped, with the reason.
        """
        for name in algorithms(args):
            print(f"  -- algorithm {name!r}")
            made = make(name)
            for result in made if isinstance(made, (list, tuple)) else [made]:
                self.check(result)

    @property
    def failures(self):
        return [r for r in self.results if r.holds is False]

    def scope(self) -> str:
        """A one-line summary of the scopes proved."""
        from jconv.symbolic import CheckResult

        symbolic = any(r.scope == CheckResult.ALL_SIZES and r.holds for r in self.results)
        return ("all sizes (symbolic) + " if symbolic else "") + f"verified for {self.sizes}"

    def finish(self, args) -> int:
        """Print the summary, write JSON if asked, and return the exit code."""
        elapsed = time.perf_counter() - self.start
        held = sum(1 for r in self.results if r.holds)
        skipped = sum(1 for r in self.results if r.holds is None)
        failed = self.failures
        status = "FAILS" if failed else ("holds" if held else "skipped")
        print(f"\nSUMMARY: {self.theorem}: {status} -- {held} checks hold, {len(failed)} fail, "
              f"{skipped} skipped; {self.scope()}; {elapsed:.1f} s")
        for r in failed:
            print(f"  FAILED: {r.name}: {r.details}")
        if args.json:
            Path(args.json).write_text(json.dumps({
                "theorem": self.theorem,
                "doc": self.doc,
                "scope": self.scope(),
                "status": status,
                "elapsed": elapsed,
                "results": [r.to_dict() for r in self.results],
            }, indent=1))
        return 1 if failed or not held else 0
