"""Write docs/api.md from the docstrings of jconv's public functions (and jconv.lax's).

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
        lines += _entry("##", f"jconv.{name}", getattr(jconv, name))
    lines += ["## `jconv.lax`", "", inspect.cleandoc(jconv.lax.__doc__ or ""), ""]
    for name in sorted(jconv.lax.__all__):
        lines += _entry("###", f"jconv.lax.{name}", getattr(jconv.lax, name))
    return "\n".join(lines)


def _entry(level: str, qualname: str, obj) -> list[str]:
    """A heading, the signature (the base of an exception class) and the docstring of one
    public name."""
    if isinstance(obj, type) and issubclass(obj, Exception):
        head = f"class {qualname}({obj.__bases__[0].__name__})"
    else:
        head = f"{qualname}{inspect.signature(obj)}"
    return [
        f"{level} `{qualname}`", "", "```python", head, "```", "",
        inspect.cleandoc(obj.__doc__ or ""), "",
    ]


def main() -> int:
    (HERE / "api.md").write_text(render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
