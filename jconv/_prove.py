"""Find and run the proof scripts in worker processes; tabulate and report them.

The logic behind ``jconv prove`` and ``proofs/run_all.py``. The scripts are the
``proofs/`` folder of a checkout, or, in an installed wheel, the copy shipped as
``jconv/_proofs``. A script takes part through two environment variables (see
``proofs/_common.py``): ``JCONV_PROOF_QUICK=1`` asks for its smallest sizes and
``JCONV_PROOF_JSON=path`` for its results as JSON.
"""

from __future__ import annotations

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
from collections.abc import Callable, Sequence
from pathlib import Path

QUICK_ENV = "JCONV_PROOF_QUICK"
JSON_ENV = "JCONV_PROOF_JSON"
RUNNER = "run_all.py"


class UnknownProof(ValueError):
    """A proof name that is not one of the scripts found."""


def proofs_dir() -> Path:
    """The proof scripts' folder: the checkout's ``proofs/`` next to the package when
    there is one, else the copy shipped inside the installed package."""
    package = Path(__file__).resolve().parent
    for candidate in (package.parent / "proofs", package / "_proofs"):
        if (candidate / RUNNER).is_file():
            return candidate
    raise FileNotFoundError(
        f"no proof scripts: neither {package.parent / 'proofs'} (a checkout) nor "
        f"{package / '_proofs'} (an installed wheel) holds {RUNNER}")


def discover(folder: Path, names: Sequence[str] | None = None) -> list[Path]:
    """The proof scripts in ``folder``: every ``*.py`` except the runner and helpers
    named ``_*``; only those in ``names`` (with or without ``.py``) when given.

    Raises:
        UnknownProof: a name is not a script there; the message lists the ones there are.
    """
    scripts = sorted(p for p in Path(folder).glob("*.py")
                     if p.name != RUNNER and not p.name.startswith("_"))
    if names:
        wanted = {n.removesuffix(".py") for n in names}
        unknown = wanted - {p.stem for p in scripts}
        if unknown:
            raise UnknownProof(f"unknown proofs {sorted(unknown)}; available: "
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
    """Run one script, in a subprocess of its own or (``isolate`` False) in this process;
    return its record (its JSON results when it wrote them)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        start = time.perf_counter()
        if isolate:
            rc, output = _run_subprocess(script, quick, timeout, out)
        else:
            rc, output = _run_here(script, quick, out)
        elapsed = time.perf_counter() - start
        record = json.loads(out.read_text()) if out.exists() else {}
    return _record(script, record, rc, output, elapsed)


def _record(script: Path, record: dict, rc: int, output: str, elapsed: float) -> dict:
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
        proc = subprocess.run([sys.executable, str(script)], cwd=script.parent.parent, env=env,
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
    x64 = _x64()
    with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
        try:
            runpy.run_path(str(script), run_name="__main__")
        except SystemExit as e:
            rc = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        except BaseException:  # noqa: BLE001 - a crashing proof fails, the others go on
            traceback.print_exc()
            rc = 1
    os.environ.pop(JSON_ENV, None)
    _x64(x64)  # a script that turned on float64 leaves the next one as it found it
    return rc, buffer.getvalue()


def _x64(value: bool | None = None) -> bool | None:
    """JAX's float64 switch in this process: read it, or set it back to ``value``."""
    if "jax" not in sys.modules:
        return None
    jax = sys.modules["jax"]
    if value is not None:
        jax.config.update("jax_enable_x64", value)
    return bool(jax.config.jax_enable_x64)


def run(scripts: Sequence[Path], quick: bool = False, jobs: int = 2, timeout: float = 600,
        on_done: Callable[[int, int, dict], None] | None = None,
        isolate: bool = False) -> list[dict]:
    """Run the scripts, ``jobs`` at a time; the records in the order of ``scripts``.

    By default ``jobs`` worker processes each import JAX once and run several scripts in
    turn, keeping what they compiled; ``isolate`` runs every script in a fresh process
    of its own instead (slower), and only then does ``timeout`` bound each script.
    ``on_done(done, total, record)`` is called as each script finishes (for progress).
    """
    if not scripts:
        return []
    records, done = {}, 0
    jobs = max(1, min(jobs, len(scripts)))
    if isolate:
        pool = concurrent.futures.ThreadPoolExecutor(jobs)
    else:
        pool = concurrent.futures.ProcessPoolExecutor(
            jobs, mp_context=multiprocessing.get_context("spawn"), initializer=os.chdir,
            initargs=(str(Path(scripts[0]).parent.parent),))
    with pool:
        futures = {pool.submit(run_one, s, quick, timeout, isolate): s for s in scripts}
        for future in concurrent.futures.as_completed(futures):
            script = futures[future]
            try:
                r = future.result()
            except Exception as e:  # noqa: BLE001 - a worker that died fails its script
                r = _record(script, {}, -1, f"the worker running it failed: "
                            f"{type(e).__name__}: {e}", 0.0)
            done += 1
            records[r["name"]] = r
            if on_done is not None:
                on_done(done, len(scripts), r)
    return [records[s.stem] for s in scripts]


def failed(records: Sequence[dict]) -> list[str]:
    """The names of the proofs that fail."""
    return [r["name"] for r in records if r["status"] == "FAILS"]


def summary(records: Sequence[dict], total: float) -> str:
    """One line: how many proofs hold, which fail, and the time."""
    bad = failed(records)
    return (f"{len(records) - len(bad)} of {len(records)} proofs hold"
            + (f"; FAILED: {', '.join(bad)}" if bad else "") + f"; {total:.1f} s in all")


def table(records: Sequence[dict]) -> str:
    """A plain-text table: proof, theorem, scope, status, time."""
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


def _md_text(text: str) -> str:
    """Prose for Markdown: ``[`` as an entity, so ``ZZ[a, b][x]`` is not read as a link."""
    return text.replace("[", "&#91;")


def report(records: Sequence[dict], path: Path, quick: bool, total: float) -> None:
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
            lines.append(f"- **{res['name']}**: {_md_text(res['statement'])}.")
            if res["latex"]:
                lines += ["", f"  $$ {res['latex']} $$", ""]
            lines.append(f"  *How:* {_md_text(res['details'])}")
    Path(path).write_text("\n".join(lines) + "\n")
