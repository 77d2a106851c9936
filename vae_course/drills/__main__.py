"""``python -m vae_course.drills --n N --seed S --json`` (one drill per line) or ``--sheet sheet.md``."""
from __future__ import annotations

import argparse
import json
import os
import sys

from .make import DIFFICULTIES, KINDS, MAX_N, generate


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vae_course.drills", description=__doc__)
    parser.add_argument("--n", type=int, default=10, help=f"how many drills (default 10, at most {MAX_N:,})")
    parser.add_argument("--seed", type=int, default=0, help="random seed (the same seed gives the same drills)")
    parser.add_argument("--kinds", default=None, help=f"comma-separated subset of: {', '.join(KINDS)}")
    parser.add_argument("--difficulty", default="mixed", choices=DIFFICULTIES)
    parser.add_argument("--json", action="store_true", help="print one JSON object per line")
    parser.add_argument("--sheet", metavar="SHEET.md", help="write an exam sheet (Markdown + .html next to it)")
    args = parser.parse_args(argv)
    if not 0 <= args.n <= MAX_N:     # refused before anything is generated
        parser.error(f"--n must be between 0 and {MAX_N:,}, got {args.n:,}")
    try:
        drills = generate(args.n, args.seed, args.kinds, args.difficulty)
    except ValueError as exc:
        parser.error(str(exc))
    if args.sheet:
        from .sheet import write_sheet
        try:
            md, html = write_sheet(drills, args.sheet, seed=args.seed)
        except (ValueError, OSError) as exc:
            parser.error(f"--sheet {args.sheet}: could not write the sheet: {exc}")
        print(f"wrote {md} and {html}", file=sys.stderr if args.json else sys.stdout)
    if args.json:
        for drill in drills:
            print(json.dumps(drill.to_dict(), ensure_ascii=False))
    elif not args.sheet:
        for i, drill in enumerate(drills, 1):
            print(f"## {i}. {drill.kind} ({drill.difficulty})\n\n{drill.question}\n\n"
                  f"answer: {drill.answer_text()}\n")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:      # e.g. piped into `head`: stop quietly (recipe from the Python docs)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
