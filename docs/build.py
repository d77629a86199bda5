"""Build the HTML API reference of ``maicoin.ws`` from its docstrings, offline.

The guide (``docs/guide.md``) becomes the package's front page. Usage, from the repository
root::

    python -m pip install '.[docs]'
    python docs/build.py              # writes docs/api/index.html
    python docs/build.py -o /tmp/api  # elsewhere

The output is generated, not committed (``docs/.gitignore``).
"""

from __future__ import annotations

import argparse
import pkgutil
import sys
import warnings
from pathlib import Path

DOCS = Path(__file__).resolve().parent
GUIDE = DOCS / "guide.md"
DEFAULT_OUTPUT = DOCS / "api"


def build(output: Path = DEFAULT_OUTPUT) -> Path:
    """Write the reference into ``output``; return the path of its front page."""
    try:
        import pdoc
        import pdoc.render
    except ImportError:
        raise SystemExit("pdoc is missing: python -m pip install '.[docs]'") from None
    import maicoin.ws

    # pdoc renders a module's docstring at the top of its page, and the package page is the
    # one index.html opens: the guide goes there.
    own_docstring = maicoin.ws.__doc__
    maicoin.ws.__doc__ = GUIDE.read_text(encoding="utf-8")
    pdoc.render.configure(
        docformat="markdown",
        footer_text="maicoin-ws API reference",
        show_source=False,
    )
    try:
        with warnings.catch_warnings():
            # maicoin.ws.testing exports a function named like its module blast_stream.
            warnings.filterwarnings("ignore", message="The module specification")
            pdoc.pdoc(*public_modules(), output_directory=output)
    finally:
        maicoin.ws.__doc__ = own_docstring
    return output / "index.html"


def public_modules() -> list[str]:
    """``maicoin.ws`` and every submodule whose dotted name has no ``_`` part.

    Named one by one: pdoc leaves out submodules a package's ``__all__`` does not list.
    """
    import maicoin.ws

    found = pkgutil.walk_packages(maicoin.ws.__path__, "maicoin.ws.")
    names = [m.name for m in found if not any(p.startswith("_") for p in m.name.split("."))]
    return ["maicoin.ws", *sorted(names)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the maicoin.ws API reference (HTML).")
    parser.add_argument(
        "-o", "--output", type=Path, default=DEFAULT_OUTPUT, help="directory (docs/api)"
    )
    args = parser.parse_args(argv)
    front = build(args.output)
    print(f"API reference written to {front}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
