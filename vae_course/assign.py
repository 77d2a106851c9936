"""Write the student notebooks (exercises/) from the solved ones (solutions/): one source, two versions.

    python -m vae_course.assign                 # solutions/*.ipynb → exercises/*.ipynb
    python -m vae_course.assign --check         # exit 1 if exercises/ differ from what this writes

For every cell:

* code between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` becomes a stub that *runs*:
  ``name = ...`` for each name a top-level region assigns, and a bare ``...`` inside a
  function body (a function whose body is ``...`` returns None, which the checks report as unfinished).
  So exercise notebooks execute top to bottom (nbval), and every check cell scores 0.
  In Markdown cells the region becomes "YOUR ANSWER HERE".
* lines between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` are removed;
* outputs and execution counts are cleared; nbgrader metadata is kept; the notebook metadata
  keeps only the kernelspec (so re-running the solutions elsewhere does not change exercises/).

The rules are nbgrader's ``generate_assignment`` ones, except the stub (nbgrader writes
``raise NotImplementedError()``, which would stop the notebook).
"""
from __future__ import annotations

import argparse
import ast
import copy
import re
import sys
import textwrap
from pathlib import Path

import nbformat

__all__ = ["make_exercise", "strip_source", "generate", "default_dirs"]

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
STUB_COMMENT = "# YOUR CODE HERE"


def default_dirs() -> tuple[Path, Path]:
    """solutions/ and exercises/ beside the package (the repository checkout)."""
    root = Path(__file__).resolve().parent.parent
    return root / "solutions", root / "exercises"


def _assigned_names(code: str) -> list[str]:
    """Names assigned by the top-level statements of ``code`` (in order, no repeats)."""
    try:
        tree = ast.parse(textwrap.dedent(code))
    except SyntaxError:
        return []
    names: list[str] = []
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        for t in targets:
            for n in ast.walk(t):
                if isinstance(n, ast.Name) and n.id not in names:
                    names.append(n.id)
    return names


def _stub(region: list[str], indent: str, markdown: bool) -> list[str]:
    if markdown:
        return ["YOUR ANSWER HERE"]
    names = _assigned_names("\n".join(region)) if not indent else []
    if names:
        return [f"{indent}{STUB_COMMENT}"] + [f"{indent}{n} = ..." for n in names]
    return [f"{indent}{STUB_COMMENT}", f"{indent}..."]


def strip_source(source: str, markdown: bool = False) -> str:
    """The student's version of one cell's source (solution regions stubbed, hidden tests removed)."""
    out: list[str] = []
    region: list[str] | None = None
    mode = None
    indent = ""
    for lineno, line in enumerate(source.split("\n"), 1):
        marker = line.strip()
        if mode is None and marker in (BEGIN_SOLUTION, BEGIN_HIDDEN):
            mode, region, indent = marker, [], re.match(r"\s*", line).group(0)
        elif mode == BEGIN_SOLUTION and marker == END_SOLUTION:
            out.extend(_stub(region, indent, markdown))
            mode = None
        elif mode == BEGIN_HIDDEN and marker == END_HIDDEN:
            mode = None
        elif marker in (BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN, END_HIDDEN):
            raise ValueError(f"line {lineno}: unexpected {marker!r} (regions must be closed and not nested)")
        elif mode is None:
            out.append(line)
        else:
            region.append(line)
    if mode is not None:
        raise ValueError(f"{mode!r} without its END marker")
    return "\n".join(out)


def make_exercise(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The student notebook generated from a solved notebook (the input is not modified)."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        cell.source = strip_source(cell.source, markdown=cell.cell_type == "markdown")
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
    # no trace of the machine that last ran the solutions (Python version etc.)
    nb.metadata = {k: v for k, v in nb.metadata.items() if k in ("kernelspec",)}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def render(nb: nbformat.NotebookNode) -> str:
    """The exact text written to disk (so a test can compare it with the committed file)."""
    return nbformat.writes(nb) + "\n"


def generate(source: Path, dest: Path, check: bool = False) -> list[str]:
    """Write dest/*.ipynb from source/*.ipynb; with ``check``, write nothing and list what differs."""
    sources = sorted(source.glob("*.ipynb"))
    if not sources:
        raise FileNotFoundError(f"no notebooks in {source}")
    problems = []
    for path in sources:
        try:
            text = render(make_exercise(nbformat.read(path, as_version=4)))
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
        target = dest / path.name
        if check:
            if not target.exists() or target.read_text(encoding="utf-8") != text:
                problems.append(f"{target} differs from what `python -m vae_course.assign` writes")
        else:
            dest.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    stale = sorted({p.name for p in dest.glob("*.ipynb")} - {p.name for p in sources})
    problems += [f"{dest / name} has no source in {source} (delete it)" for name in stale]
    return problems


def main(argv: list[str] | None = None) -> int:
    src, dst = default_dirs()
    ap = argparse.ArgumentParser(prog="python -m vae_course.assign", description=__doc__.split("\n\n")[0])
    ap.add_argument("--source", type=Path, default=src, help=f"solved notebooks (default {src})")
    ap.add_argument("--dest", type=Path, default=dst, help=f"where the student notebooks go (default {dst})")
    ap.add_argument("--check", action="store_true", help="write nothing; exit 1 if dest is out of date")
    args = ap.parse_args(argv)
    try:
        problems = generate(args.source, args.dest, check=args.check)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for p in problems:
        print(p, file=sys.stderr if args.check else sys.stdout)
    if args.check:
        print("exercises are up to date" if not problems else f"{len(problems)} problem(s)")
        return 1 if problems else 0
    print(f"wrote {len(list(args.source.glob('*.ipynb')))} notebook(s) to {args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
