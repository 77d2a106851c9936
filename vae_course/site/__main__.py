"""``python -m vae_course.site OUT_DIR``: build the course's static site (see :mod:`vae_course.site`)."""
from __future__ import annotations

import argparse
import json
import sys

from . import build


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vae_course.site",
                                     description="Build the course's static website into OUT_DIR (works offline).")
    parser.add_argument("out_dir", help="folder for the HTML (replaced if it exists); open OUT_DIR/index.html")
    parser.add_argument("--verbose", action="store_true", help="show Sphinx's own output")
    args = parser.parse_args(argv)
    summary = build(args.out_dir, quiet=not args.verbose)
    print(json.dumps(summary))
    print(f"open {summary['out']}/index.html", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
