"""``python -m vae_course.drills --n N --seed S --json`` (one drill per line) or ``--sheet sheet.md``;
``--exam`` draws the whole-lecture mock exam instead (its JSON rows carry ``topic`` and ``problem_type``)."""
from __future__ import annotations

import argparse
import json
import os
import sys

from .make import DIFFICULTIES, KINDS, MAX_N, generate


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vae_course.drills", description=__doc__)
    parser.add_argument("--n", type=int, default=None,
                        help=f"how many drills (default 10; 12 with --exam; at most {MAX_N:,})")
    parser.add_argument("--seed", type=int, default=0, help="random seed (the same seed gives the same drills)")
    parser.add_argument("--kinds", default=None, help=f"comma-separated subset of: {', '.join(KINDS)}")
    parser.add_argument("--difficulty", default="mixed", choices=DIFFICULTIES)
    parser.add_argument("--exam", action="store_true",
                        help="a mock exam across the whole lecture (all topics, the notes' four problem types)")
    parser.add_argument("--topics", default=None, help="with --exam: a comma-separated subset of the topics")
    parser.add_argument("--json", action="store_true", help="print one JSON object per line")
    parser.add_argument("--sheet", metavar="SHEET.md", help="write an exam sheet (Markdown + .html next to it)")
    args = parser.parse_args(argv)
    if args.n is None:
        args.n = 12 if args.exam else 10
    if not 0 <= args.n <= MAX_N:     # refused before anything is generated
        parser.error(f"--n must be between 0 and {MAX_N:,}, got {args.n:,}")
    if args.exam and (args.kinds or args.difficulty != "mixed"):
        parser.error("--kinds and --difficulty apply to the KL drills; with --exam choose --topics")
    if args.topics and not args.exam:
        parser.error("--topics needs --exam")
    try:
        if args.exam:
            from .exam import exam
            drills = exam(args.n, args.seed, args.topics)
        else:
            drills = generate(args.n, args.seed, args.kinds, args.difficulty)
    except ValueError as exc:
        parser.error(str(exc))
    if args.sheet:
        from .sheet import write_sheet
        title = "Mock exam: variational autoencoders" if args.exam else "KL divergence drills"
        try:
            md, html = write_sheet(drills, args.sheet, seed=args.seed, title=title)
        except (ValueError, OSError) as exc:
            parser.error(f"--sheet {args.sheet}: could not write the sheet: {exc}")
        print(f"wrote {md} and {html}", file=sys.stderr if args.json else sys.stdout)
    if args.json:
        for drill in drills:
            print(json.dumps(drill.to_dict(), ensure_ascii=False))
    elif not args.sheet:
        for i, drill in enumerate(drills, 1):
            about = f"{drill.topic}, {drill.kind}" if drill.topic else f"{drill.kind} ({drill.difficulty})"
            print(f"## {i}. {about}\n\n{drill.question}\n\nanswer: {drill.answer_text()}\n")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:      # e.g. piped into `head`: stop quietly (recipe from the Python docs)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
