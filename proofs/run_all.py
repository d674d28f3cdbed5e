"""Run every proof script, show progress and a summary table; exit 1 if anything fails.

Discovers proofs/*.py (every script except this one and helpers whose names start
with an underscore, so new proofs are picked up automatically), runs them with the
current Python interpreter in ``--jobs`` worker processes, each of which imports JAX
once and runs several scripts in turn (sharing compiled functions; ``--isolate`` runs
every script in a fresh process of its own instead), and prints one row per theorem: its
statement, the scope proved (all sizes with symbolic sizes, and the sizes verified),
the status and the time. ``--quick`` asks every script for its smallest sizes;
``--report FILE.md`` writes the statements and results as Markdown with LaTeX math.

    python proofs/run_all.py
    python proofs/run_all.py --quick --report proofs.md
    python proofs/run_all.py adjoint groups      # only these
"""

from __future__ import annotations

import argparse
import ast
import concurrent.futures
import contextlib
import io
import json
import multiprocessing
import os
import runpy
import subprocess
import sys
import tempfile
import textwrap
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
QUICK_ENV = "JCONV_PROOF_QUICK"
JSON_ENV = "JCONV_PROOF_JSON"


def discover(names=None) -> list[Path]:
    """The proof scripts: proofs/*.py except run_all.py and helpers named ``_*``."""
    scripts = sorted(p for p in HERE.glob("*.py")
                     if p.name != Path(__file__).name and not p.name.startswith("_"))
    if names:
        wanted = {n.removesuffix(".py") for n in names}
        unknown = wanted - {p.stem for p in scripts}
        if unknown:
            raise SystemExit(f"unknown proofs {sorted(unknown)}; available: "
                             f"{[p.stem for p in scripts]}")
        scripts = [p for p in scripts if p.stem in wanted]
    return scripts


def docstring(script: Path) -> str:
    """The module docstring, read without importing the script."""
    try:
        return ast.get_docstring(ast.parse(script.read_text())) or script.stem
    except SyntaxError:
        return script.stem


def run_one(script: Path, quick: bool, timeout: float, isolate: bool = True) -> dict:
    """Run one script (in a subprocess, or in this process when ``isolate`` is False);
    return its record (JSON results when it wrote them)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        start = time.perf_counter()
        if isolate:
            rc, output = _run_subprocess(script, quick, timeout, out)
        else:
            rc, output = _run_here(script, quick, out)
        elapsed = time.perf_counter() - start
        record = json.loads(out.read_text()) if out.exists() else {}
    doc = docstring(script)
    record.setdefault("theorem", doc.strip().splitlines()[0].rstrip("."))
    record.setdefault("doc", doc)
    record.setdefault("scope", "see the script's output")
    record.setdefault("results", [])
    status = record.get("status", "holds" if rc == 0 else "FAILS")
    if rc != 0:
        status = "FAILS"
    record.update(name=script.stem, rc=rc, output=output, status=status, elapsed=elapsed)
    return record


def _run_subprocess(script: Path, quick: bool, timeout: float, out: Path) -> tuple[int, str]:
    env = dict(os.environ, **{JSON_ENV: str(out)})
    if quick:
        env[QUICK_ENV] = "1"
    else:
        env.pop(QUICK_ENV, None)
    try:
        proc = subprocess.run([sys.executable, str(script)], cwd=HERE.parent, env=env,
                              capture_output=True, text=True, timeout=timeout)
        return proc.returncode, proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as e:
        output = e.stdout or ""
        if isinstance(output, bytes):
            output = output.decode(errors="replace")
        return -1, output + f"\n(timed out after {timeout:.0f} s)"


def _run_here(script: Path, quick: bool, out: Path) -> tuple[int, str]:
    """Run ``script`` as ``__main__`` in this process, as ``python script`` would."""
    os.environ[JSON_ENV] = str(out)
    if quick:
        os.environ[QUICK_ENV] = "1"
    else:
        os.environ.pop(QUICK_ENV, None)
    if str(script.parent) not in sys.path:
        sys.path.insert(0, str(script.parent))
    sys.argv = [str(script)]
    buffer = io.StringIO()
    rc = 0
    with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
        try:
            runpy.run_path(str(script), run_name="__main__")
        except SystemExit as e:
            rc = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        except BaseException:  # noqa: BLE001 - a crashing proof fails, the others go on
            traceback.print_exc()
            rc = 1
    os.environ.pop(JSON_ENV, None)
    return rc, buffer.getvalue()


def _worker_init(cwd: str) -> None:
    os.chdir(cwd)


def _table(records) -> str:
    rows = [("proof", "theorem", "scope", "status", "time")]
    for r in records:
        rows.append((r["name"], r["theorem"], r["scope"], r["status"], f"{r['elapsed']:.1f} s"))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    widths[1] = min(widths[1], 60)
    widths[2] = min(widths[2], 60)
    lines = []
    for k, row in enumerate(rows):
        cells = [textwrap.wrap(c, widths[i]) or [""] for i, c in enumerate(row)]
        for j in range(max(len(c) for c in cells)):
            lines.append("  ".join((c[j] if j < len(c) else "").ljust(widths[i])
                                   for i, c in enumerate(cells)).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def report(records, path: Path, quick: bool, total: float) -> None:
    """Write the statements and results as Markdown with LaTeX math."""
    lines = [
        "# jconv proofs",
        "",
        f"{len(records)} proof scripts, {'quick' if quick else 'default'} sizes, "
        f"{total:.1f} s in all. Scope *all sizes (symbolic)*: proved with symbolic sizes; "
        "*verified for sizes ...*: checked exactly (or, for numeric algorithms, "
        "completely by one-hot probing) at the sizes listed.",
        "",
        "| proof | theorem | scope | status | time |",
        "|---|---|---|---|---|",
    ]
    for r in records:
        lines.append(f"| {r['name']} | {_md_escape(r['theorem'])} | {_md_escape(r['scope'])} "
                     f"| {r['status']} | {r['elapsed']:.1f} s |")
    for r in records:
        lines += ["", f"## {r['name']}: {r['theorem']}", "", "```text", r["doc"], "```", ""]
        if not r["results"]:
            lines += ["(no structured results; the script's output:)", "", "```text",
                      r["output"].strip()[-3000:], "```"]
            continue
        lines += ["| status | check | scope | time |", "|---|---|---|---|"]
        for res in r["results"]:
            lines.append(f"| {res['holds'] and 'holds' or ('skipped' if res['holds'] is None else 'FAILS')}"
                         f" | {_md_escape(res['name'])} | {_md_escape(res['scope'])} | "
                         f"{res['elapsed']:.2f} s |")
        lines.append("")
        seen = set()
        for res in r["results"]:
            key = (res["statement"], res["latex"])
            if key in seen:
                continue
            seen.add(key)
            lines.append(f"- **{res['name']}**: {res['statement']}.")
            if res["latex"]:
                lines += ["", f"  $$ {res['latex']} $$", ""]
            lines.append(f"  *How:* {res['details']}")
    path.write_text("\n".join(lines) + "\n")


def run_many(scripts, quick: bool, jobs: int = 2, timeout: float = 600,
             isolate: bool = False, *, verbose: bool = False, progress: bool = False) -> list:
    """Run ``scripts`` (``jobs`` at a time) and return their records in the same order."""
    records, done = {}, 0
    jobs = max(1, min(jobs, len(scripts)))
    if isolate:
        pool = concurrent.futures.ThreadPoolExecutor(jobs)
    else:  # workers that import JAX once and keep their compiled functions
        pool = concurrent.futures.ProcessPoolExecutor(
            jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_worker_init,
            initargs=(str(HERE.parent),))
    with pool:
        futures = {pool.submit(run_one, s, quick, timeout, isolate): s for s in scripts}
        for future in concurrent.futures.as_completed(futures):
            try:
                r = future.result()
            except Exception as e:  # noqa: BLE001 - a worker that died fails its script
                script = futures[future]
                doc = docstring(script)
                r = dict(name=script.stem, theorem=doc.strip().splitlines()[0].rstrip("."),
                         doc=doc, scope="see the script's output", results=[], rc=-1,
                         output=f"the worker running it failed: {type(e).__name__}: {e}",
                         status="FAILS", elapsed=0.0)
            done += 1
            records[r["name"]] = r
            if progress:
                print(f"[{done:>2}/{len(scripts)}] {r['name']:<26} {r['status']:<7} "
                      f"{r['elapsed']:6.1f} s", flush=True)
                if verbose or r["status"] == "FAILS":
                    print(textwrap.indent(r["output"].rstrip()[-4000:], "    | "))
    return [records[s.stem] for s in scripts]


def main(argv=None) -> int:
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
    scripts = discover(args.names)
    start = time.perf_counter()
    print(f"running {len(scripts)} proofs ({'quick' if args.quick else 'default'} sizes, "
          f"{args.jobs} at a time) with {sys.executable}")
    ordered = run_many(scripts, args.quick, args.jobs, args.timeout, args.isolate,
                       verbose=args.verbose, progress=True)
    total = time.perf_counter() - start
    print()
    print(_table(ordered))
    failed = [r["name"] for r in ordered if r["status"] == "FAILS"]
    print(f"\n{len(ordered) - len(failed)} of {len(ordered)} proofs hold"
          + (f"; FAILED: {', '.join(failed)}" if failed else "") + f"; {total:.1f} s in all")
    if args.report:
        report(ordered, args.report, args.quick, total)
        print(f"wrote {args.report}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
