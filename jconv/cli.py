"""The ``jconv`` command: prove, benchmark, explain and calibrate from a shell.

    jconv prove [NAMES ...] [--quick] [--json] [--report FILE.md]
    jconv bench [CASES ...] [--repeats N] [--json] [--list]
    jconv explain X_SHAPE W_SHAPE [--stride S] [--padding P] [--groups G] [--json] ...
    jconv calibrate [ARGS ...]          # the same as python -m jconv.calibrate

Also `python -m jconv`. `jconv COMMAND --help` describes each command. Progress goes
to stderr; with --json stdout holds one JSON document and nothing else. Bad arguments
exit with status 2, a failing proof with status 1.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Sequence

from . import __version__

PROG = "jconv"


class _Progress:
    """A progress line on stderr: redrawn in place on a terminal, one line per step otherwise."""

    def __init__(self, total: int, what: str):
        self.total, self.what = total, what
        self.tty = sys.stderr.isatty()
        self.start = time.perf_counter()

    def step(self, done: int, label: str) -> None:
        width = 20
        filled = round(width * done / max(self.total, 1))
        line = (f"{self.what} [{'#' * filled}{'.' * (width - filled)}] {done}/{self.total} "
                f"{time.perf_counter() - self.start:5.1f} s  {label}")
        if self.tty:
            sys.stderr.write("\r\033[K" + line)
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def close(self) -> None:
        if self.tty:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _dump(obj) -> None:
    json.dump(obj, sys.stdout, indent=1)
    sys.stdout.write("\n")


# -- prove -------------------------------------------------------------------------------


def _prove(args, parser) -> int:
    from pathlib import Path

    from . import _prove

    try:
        folder = Path(args.dir) if args.dir else _prove.proofs_dir()
        scripts = _prove.discover(folder, args.names)
    except (_prove.UnknownProof, FileNotFoundError) as e:
        parser.error(str(e))
    if not scripts:
        parser.error(f"no proof scripts in {folder}")
    progress = _Progress(len(scripts), "proofs")
    progress.step(0, f"running {len(scripts)} ({'quick' if args.quick else 'default'} sizes)")

    def done(k, total, r):
        progress.step(k, f"{r['name']} {r['status']} ({r['elapsed']:.1f} s)")

    start = time.perf_counter()
    records = _prove.run(scripts, args.quick, args.jobs, args.timeout, on_done=done,
                         isolate=args.isolate)
    total = time.perf_counter() - start
    progress.close()
    failed = _prove.failed(records)
    if args.report:
        _prove.report(records, Path(args.report), args.quick, total)
    if args.json:
        _dump({"quick": args.quick, "seconds": total, "holds": len(records) - len(failed),
               "failed": failed, "proofs": records})
    else:
        for r in records:
            if args.verbose or r["status"] == "FAILS":
                print(f"--- {r['name']} ({r['status']}):")
                print("    | " + r["output"].rstrip()[-4000:].replace("\n", "\n    | "))
        print(_prove.table(records))
        print("\n" + _prove.summary(records, total))
        if args.report:
            print(f"wrote {args.report}")
    return 1 if failed else 0


# -- bench -------------------------------------------------------------------------------


def _ms(t: float) -> str:
    return f"{t * 1e3:.3g}" if t < 10 else f"{t * 1e3:.4g}"


def _bench(args, parser) -> int:
    from . import _bench

    if args.list:
        if args.json:
            _dump([{"name": c.name, "title": c.title, "kind": c.kind, "x_shape": c.x_shape,
                    "w_shape": c.w_shape, "dtype": c.dtype, "flops": c.flops}
                   for c in _bench.BY_NAME.values()])
        else:
            width = max(len(c.name) for c in _bench.BY_NAME.values())
            for c in _bench.BY_NAME.values():
                print(f"{c.name:<{width}}  {c.title}")
        return 0
    unknown = [n for n in args.cases if n not in _bench.BY_NAME]
    if unknown:
        parser.error(f"unknown case{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
                     f"valid cases: {', '.join(_bench.BY_NAME)}")
    from ._select import algorithms

    bad = [a for a in args.algorithms if a not in algorithms()]
    if bad:
        parser.error(f"unknown algorithms {', '.join(bad)}; valid: {', '.join(algorithms())}")
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    cases = [_bench.BY_NAME[n] for n in dict.fromkeys(args.cases)] or _bench.CASES
    passes = _bench.PASSES[:1] if args.forward_only else _bench.PASSES
    import jax

    if any(c.dtype == "float64" for c in cases):
        jax.config.update("jax_enable_x64", True)
    torch = None if args.no_torch else _bench.import_torch()
    progress = _Progress(len(cases) * len(passes), "bench")
    results, k = {}, 0
    for case in cases:
        def on_pass(pass_name, case=case, k=k):
            progress.step(k + passes.index(pass_name), f"{case.name} {pass_name}")

        refused = [a for a in args.algorithms if _bench.refusal(case, a)]
        if refused:
            parser.error(f"case {case.name!r}: " + "; ".join(
                f"algorithm {a!r} cannot run it ({_bench.refusal(case, a)})" for a in refused))
        r = _bench.bench_case(case, args.repeats, torch=torch, passes=passes, on_pass=on_pass,
                              algorithms=args.algorithms)
        k += len(passes)
        r["ratios"] = {
            p: {name: t["jconv"]["median"] / v["median"] for name, v in t.items() if name != "jconv"}
            for p, t in r["passes"].items()
        }
        results[case.name] = r
    progress.step(k, "done")
    progress.close()
    meta = {"machine": f"{platform.machine()}, {jax.devices()[0].device_kind}",
            "jax": jax.__version__, "torch": getattr(torch, "__version__", None),
            "repeats": args.repeats, "jconv": __version__}
    if args.json:
        _dump({"meta": meta, "cases": results})
        return 0
    peers = list(dict.fromkeys(name for r in results.values() for t in r["passes"].values()
                               for name in t if name != "jconv"))
    head = ["case", "pass", "jconv ms", *[f"{p} ms" for p in peers],
            *[f"jconv/{p}" for p in peers], "algorithms (fwd / dx / dw)"]
    rows = [head]
    for name, r in results.items():
        algos = " / ".join(str(r["plan"].get(k, "-")) for k in ("forward", "input_grad",
                                                                  "kernel_grad"))
        for p, t in r["passes"].items():
            rows.append([name, p, _ms(t["jconv"]["median"]),
                         *[_ms(t[q]["median"]) if q in t else "-" for q in peers],
                         *[f"{r['ratios'][p][q]:.3g}" if q in t else "-" for q in peers],
                         algos])
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    for j, row in enumerate(rows):
        print("  ".join(c.ljust(w) if i < 2 or i == len(row) - 1 else c.rjust(w)
                        for i, (c, w) in enumerate(zip(row, widths))).rstrip())
        if j == 0:
            print("  ".join("-" * w for w in widths))
    print(f"\nmedian of {args.repeats} interleaved call(s) per entry after a compiling warm-up; "
          f"jconv/peer < 1: jconv is faster. {meta['machine']}, jax {meta['jax']}"
          + (f", torch {meta['torch']}" if meta["torch"] else ", no torch"))
    return 0


# -- explain -----------------------------------------------------------------------------


def parse_shape(text: str) -> tuple[int, ...]:
    """A shape written ``8x64x56x56`` (or ``8,64,56,56``) as a tuple of ints.

    Raises:
        argparse.ArgumentTypeError: the text is not sizes (non-negative ints) joined by
            ``x`` or ``,``.
    """
    parts = text.replace(",", "x").split("x")
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        shape = ()
    if not shape or any(s < 0 for s in shape):
        raise argparse.ArgumentTypeError(
            f"invalid shape {text!r}: write the sizes joined by 'x', e.g. 8x64x56x56")
    return shape


def parse_ints(text: str) -> int | tuple[int, ...]:
    """``2`` -> 2, ``2,1`` -> (2, 1): one int, or one per spatial dimension."""
    try:
        values = tuple(int(p) for p in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid value {text!r}: an int, or one int per spatial dimension joined by ','"
        ) from None
    return values[0] if len(values) == 1 else values


def parse_padding(text: str):
    """``same``/``valid``/``full``, ``1``, ``1,2`` (per dimension) or ``0:1,1:2``
    (``low:high`` per dimension)."""
    if text in ("same", "valid", "full"):
        return text
    if ":" not in text:
        return parse_ints(text)
    try:
        return tuple(tuple(int(v) for v in pair.split(":", 1)) for pair in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid padding {text!r}: same, valid, full, an int, ints joined by ',', or "
            "low:high pairs joined by ','") from None


def plan_to_dict(plan) -> dict:
    """A `jconv.explain` plan as plain data (what ``jconv explain --json`` prints)."""
    passes = []
    for p in plan.passes:
        s = p.spec
        passes.append({
            "role": p.role, "chosen": p.chosen, "empty": s.is_empty, "macs": s.macs,
            "x_shape": list(s.x_shape), "w_shape": list(s.w_shape), "y_shape": list(s.y_shape),
            "workspace_limit": p.limit, "highest": p.highest,
            "candidates": [{"name": c.name, "seconds": c.seconds, "workspace": c.workspace,
                            "reason": c.reason, "over_limit": c.over_limit,
                            "measured": c.measured, "detail": c.detail, "exact": c.exact}
                           for c in p.candidates],
        })
    return {"description": plan.description, "platform": plan.platform,
            "calibration": plan.calibration, "passes": passes}


_EXPLAIN_KWARGS = ("stride", "padding", "dilation", "groups", "output_padding", "padding_mode",
                   "channels_last")


def _explain(args, parser) -> int:
    from ._conv import explain

    kwargs = {k: getattr(args, k) for k in _EXPLAIN_KWARGS if getattr(args, k) is not None}
    if args.transpose is False and "output_padding" in kwargs:
        parser.error("--output-padding needs --transpose (it is an argument of conv_transpose)")
    try:
        plan = explain(args.x_shape, args.w_shape, transpose=args.transpose, dtype=args.dtype,
                       algorithm=args.algorithm, platform=args.platform,
                       precision=args.precision, **kwargs)
    except (ValueError, TypeError) as e:
        parser.error(str(e))
    if args.json:
        _dump(plan_to_dict(plan))
    else:
        print(plan)
    return 0


# -- the parser --------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0],
                                     epilog="\n".join(__doc__.splitlines()[1:]), formatter_class=raw)
    parser.add_argument("--version", action="version", version=f"jconv {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("prove", formatter_class=raw, help="run the proof scripts",
                       description="Run the proof scripts, each in its own process, and print "
                                   "one row per theorem; exit 1 if any fails.",
                       epilog="examples:\n  jconv prove --quick\n  jconv prove adjoint groups "
                              "--report proofs.md\n  jconv prove shapes --quick --json")
    p.add_argument("names", nargs="*", metavar="NAME", help="run only these proofs (default: all)")
    p.add_argument("--quick", action="store_true", help="the smallest sizes")
    p.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    p.add_argument("--report", metavar="FILE.md", help="also write a Markdown report (LaTeX math)")
    p.add_argument("--jobs", type=int, default=2, help="scripts run in parallel (default 2)")
    p.add_argument("--timeout", type=float, default=600,
                   help="seconds per script, with --isolate (default 600)")
    p.add_argument("--isolate", action="store_true",
                   help="every script in a fresh process of its own (slower)")
    p.add_argument("--dir", help="the folder of proof scripts (default: the checkout's proofs/, "
                                 "else the copy installed with jconv)")
    p.add_argument("-v", "--verbose", action="store_true", help="print every script's output")
    p.set_defaults(run=_prove, sub=p)

    p = sub.add_parser("bench", formatter_class=raw, help="time jconv against jax.lax and PyTorch",
                       description="Time jconv (algorithm='auto') against jax.lax and, when it "
                                   "is installed, PyTorch (CPU), side by side in one process: "
                                   "the forward pass and the forward plus backward pass, the "
                                   "median of interleaved calls after a warm-up call that "
                                   "compiles.",
                       epilog="examples:\n  jconv bench --list\n  jconv bench depthwise3x3 "
                              "grouped --repeats 9\n  jconv bench pointwise --json")
    p.add_argument("cases", nargs="*", metavar="CASE",
                   help="run only these cases (default: all but the smoke test 'tiny')")
    p.add_argument("--list", action="store_true", help="list the cases and exit")
    p.add_argument("--repeats", type=int, default=5, help="timed calls per entry (default 5)")
    p.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    p.add_argument("--forward-only", action="store_true", help="time the forward pass only")
    p.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    p.add_argument("--algorithms", nargs="+", default=[], metavar="ALGORITHM",
                   help="also time jconv with these algorithms forced")
    p.set_defaults(run=_bench, sub=p)

    p = sub.add_parser("explain", formatter_class=raw, help="which algorithm runs each pass, and why",
                       description="Print jconv.explain(...): for the forward pass and both "
                                   "gradients of a convolution, every algorithm's estimated "
                                   "time and workspace, or why it cannot run, and the choice.",
                       epilog="examples:\n  jconv explain 8x64x56x56 64x64x3x3 --padding same\n"
                              "  jconv explain 8x64x56x56 64x1x3x3 --groups 64 --json\n"
                              "  jconv explain 8x128x16x16 128x64x4x4 --transpose --stride 2 "
                              "--padding 1")
    p.add_argument("x_shape", type=parse_shape, help="the shape of x, e.g. 8x64x56x56")
    p.add_argument("w_shape", type=parse_shape, help="the shape of w, e.g. 64x64x3x3")
    p.add_argument("--stride", type=parse_ints, help="an int, or one per spatial dim: 2,1")
    p.add_argument("--padding", type=parse_padding,
                   help="same, valid, full, an int, one per dim (1,2) or low:high pairs (0:1,1:1)")
    p.add_argument("--dilation", type=parse_ints, help="an int, or one per spatial dim")
    p.add_argument("--groups", type=int)
    p.add_argument("--padding-mode", choices=("zeros", "reflect", "replicate", "circular"))
    p.add_argument("--channels-last", action="store_const", const=True,
                   help="x is (N, *spatial, C), w is (*kernel, C_in/G, C_out)")
    p.add_argument("--transpose", action="store_true", help="explain conv_transpose instead")
    p.add_argument("--output-padding", type=parse_ints, help="with --transpose")
    p.add_argument("--dtype", default="float32", help="the compute dtype (default float32)")
    p.add_argument("--algorithm", default="auto",
                   help="auto (default), measure (time the candidates) or a forced algorithm")
    p.add_argument("--precision", help="as for jconv.conv, e.g. highest")
    p.add_argument("--platform", choices=("cpu", "cuda", "rocm", "tpu"),
                   help="the platform to plan for (default: JAX's default backend)")
    p.add_argument("--json", action="store_true", help="print the plan as JSON on stdout")
    p.set_defaults(run=_explain, sub=p)

    sub.add_parser("calibrate", add_help=False, help="calibrate the cost model on this device "
                                                     "(python -m jconv.calibrate; see its --help)")
    return parser


def _exit_code(e: SystemExit) -> int:
    if e.code is None or isinstance(e.code, int):
        return e.code or 0
    print(e.code, file=sys.stderr)
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``jconv`` command with ``argv`` (default: the process's arguments).

    Returns the exit status: 0 on success, 1 when a proof fails, 2 for bad arguments
    (after printing the usage and the error to stderr). ``calibrate`` hands the rest of
    the arguments to `jconv.calibrate.main`.

    Example:
        >>> from jconv.cli import main
        >>> main(["explain", "1x1x8", "1x1x3", "--json"])  # doctest: +SKIP
        0
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv[:1] == ["calibrate"]:
            from . import calibrate

            return calibrate.main(argv[1:])
        args = _parser().parse_args(argv)
        return args.run(args, args.sub)
    except SystemExit as e:
        return _exit_code(e)
    except BrokenPipeError:  # e.g. piped into head: stop quietly
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - replaces the closed pipe
        return 1
