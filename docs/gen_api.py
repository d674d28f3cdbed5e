"""Write docs/api.md from the docstrings of jconv's public functions.

Run: python docs/gen_api.py   (tests check that docs/api.md is up to date)
"""

from __future__ import annotations

import inspect
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent


def render() -> str:
    import jconv

    lines = [
        "# API reference",
        "",
        "Generated from the docstrings by `python docs/gen_api.py`. The symbolic",
        "module is described in [symbolic.md](symbolic.md).",
        "",
    ]
    for name in sorted(jconv.__all__):
        obj = getattr(jconv, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            head = f"class jconv.{name}({obj.__bases__[0].__name__})"
        else:
            head = f"jconv.{name}{inspect.signature(obj)}"
        lines += [f"## `jconv.{name}`", "", "```python", head, "```", ""]
        lines += [inspect.cleandoc(obj.__doc__ or ""), ""]
    return "\n".join(lines)


def main() -> int:
    (HERE / "api.md").write_text(render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
