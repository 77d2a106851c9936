"""Write the student notebooks (exercises/) from the solved ones (solutions/): one source, two versions.

    python -m vae_course.assign                 # solutions/*.ipynb → exercises/*.ipynb
    python -m vae_course.assign --check         # exit 1 if exercises/ differ from what this writes
    python -m vae_course.assign --roster ROSTER.csv --out DIR
                                                # DIR/<student>/<assignment>.ipynb: each student's own numbers

For every cell:

* code between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` becomes a stub that *runs*:
  ``name = ...`` for each name a top-level region assigns (except ``_scratch`` names), and a bare ``...`` inside a
  function body (a function whose body is ``...`` returns None, which the checks report as unfinished).
  So exercise notebooks execute top to bottom (nbval), and every check cell scores 0.
  In Markdown cells the region becomes "YOUR ANSWER HERE".
* lines between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` are removed;
* outputs and execution counts are cleared; nbgrader metadata is kept; the notebook metadata
  keeps only the kernelspec (so re-running the solutions elsewhere does not change exercises/).

* ``{{qid.name}}`` in Markdown becomes number ``name`` of by-hand question ``qid``
  (:mod:`vae_course.variants`): the fixed numbers in ``exercises/``, the student's own with ``--roster``.

The rules are nbgrader's ``generate_assignment`` ones, except the stub (nbgrader writes
``raise NotImplementedError()``, which would stop the notebook).

**Per-student variants.** ``--roster`` reads a CSV with a ``student`` column (other columns are
ignored) and writes ``DIR/<student>/<assignment>.ipynb`` for every student and assignment: the
same notebook as ``exercises/`` but with that student's numbers in every by-hand question, a
setup cell that calls ``grading.use_variant("<student>")`` (so the notebook's checks use them),
the student id in the notebook's metadata, and no Colab badge (it would open the fixed variant).
It also writes ``DIR/variants.csv`` (student, assignment, question, numbers) for the instructor.
``python -m vae_course.grade`` checks each submission against the numbers of the student its
file name names.
"""
from __future__ import annotations

import argparse
import ast
import copy
import csv
import json
import os
import re
import sys
import tempfile
import textwrap
from pathlib import Path

import nbformat

__all__ = ["make_exercise", "strip_source", "generate", "default_dirs", "read_roster", "generate_roster",
           "variant_questions"]

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
    # names starting with "_" are the solution's scratch (e.g. ``_v = grading.params(...)``): no stub for them
    names = [n for n in _assigned_names("\n".join(region)) if not n.startswith("_")] if not indent else []
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


USE_VARIANT = 'grading.use_variant({student!r})   # your own numbers: the checks below use them'
VARIANT_NOTE = ("\n\n**Your own variant** (student `{student}`): the numbers in the by-hand questions are yours; "
                "a classmate's answers do not fit them. To work on Colab, upload this file (File → Upload notebook).")


def _render(source: str, student: str | None, where: str) -> str:
    from .checks import render
    try:
        return render(source, student)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def make_exercise(nb: nbformat.NotebookNode, student: str | None = None, keep_solutions: bool = False) -> nbformat.NotebookNode:
    """The student notebook generated from a solved notebook (the input is not modified).

    ``student``: that student's variant (see the module docstring); ``None``: the fixed one of ``exercises/``.
    ``keep_solutions``: leave the solution regions and hidden tests in (the instructor's copy of a variant)."""
    from .variants import PLACEHOLDER, check_student_id
    nb = copy.deepcopy(nb)
    if student is not None:
        student = check_student_id(student)
    setup_done = False
    for i, cell in enumerate(nb.cells):
        markdown = cell.cell_type == "markdown"
        if not keep_solutions:
            cell.source = strip_source(cell.source, markdown=markdown)
        if markdown:
            cell.source = _render(cell.source, student, f"cell {i}")
        elif PLACEHOLDER.search(cell.source):
            raise ValueError(f"cell {i}: a {{{{qid.name}}}} placeholder in code; use grading.params(qid) there")
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            if student is not None and not setup_done and "from vae_course import grading" in cell.source:
                cell.source = cell.source.rstrip("\n") + "\n" + USE_VARIANT.format(student=student)
                setup_done = True
        cell.metadata.pop("execution", None)
    if student is not None:
        if not setup_done:
            raise ValueError("no cell imports `from vae_course import grading`: nowhere to set the student's variant")
        first = next((c for c in nb.cells if c.cell_type == "markdown"), None)
        if first is not None:
            kept = [line for line in first.source.split("\n") if "colab.research.google.com" not in line]
            first.source = "\n".join(kept) + VARIANT_NOTE.format(student=student)
    # no trace of the machine that last ran the solutions (Python version etc.)
    nb.metadata = {k: v for k, v in nb.metadata.items() if k in ("kernelspec",)}
    nb.metadata["language_info"] = {"name": "python"}
    if student is not None:
        nb.metadata["vae_course"] = {"student": student}
    return nb


def variant_questions(nb: nbformat.NotebookNode) -> list[str]:
    """The by-hand questions of a notebook whose numbers differ per student, in notebook order."""
    from .checks import varied_questions
    varied = varied_questions()
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    return [q for q in ids if q in varied]


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


# ----------------------------------------------------------------------------- per-student variants

def read_roster(path: Path) -> list[str]:
    """The student ids of a roster CSV (column ``student``); ``ValueError`` naming the row of a bad or repeated id."""
    from .variants import check_student_id
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")          # a spreadsheet's byte-order mark is fine
    except UnicodeDecodeError:
        raise ValueError(f"roster {path} is not UTF-8 text (save it as CSV UTF-8)") from None
    reader = csv.DictReader(text.splitlines())
    columns = [c.strip().lower() for c in (reader.fieldnames or [])]
    if "student" not in columns:
        raise ValueError(f"roster {path} has no 'student' column (its columns: {', '.join(reader.fieldnames or []) or 'none'})")
    column = (reader.fieldnames or [])[columns.index("student")]
    students: list[str] = []
    seen: dict[str, int] = {}
    for row_no, row in enumerate(reader, 2):
        raw = row.get(column)
        if raw is None or not raw.strip():
            if any((v or "").strip() for v in row.values() if isinstance(v, str)):
                raise ValueError(f"roster {path}, row {row_no}: the student column is empty")
            continue                                            # a blank line
        sid = check_student_id(raw, f"roster {path}, row {row_no}: student")
        key = sid.casefold()
        if key in seen:
            raise ValueError(f"roster {path}, row {row_no}: student {sid!r} is already on row {seen[key]} "
                             "(ids compare case-insensitively)")
        seen[key] = row_no
        students.append(sid)
    if not students:
        raise ValueError(f"roster {path} lists no students")
    return students


def _write_atomic(target: Path, text: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def generate_roster(source: Path, roster: Path, out: Path, progress: bool = True) -> dict:
    """Write ``out/<student>/<assignment>.ipynb`` for every student of ``roster`` and ``out/variants.csv``.

    Returns ``{"students": n, "notebooks": n, "shared": {question: [(a, b), ...]}}``: the pairs of
    students who drew the same numbers for a question (by chance; see :mod:`vae_course.variants`)."""
    from tqdm.auto import tqdm

    from .checks import params
    students = read_roster(roster)
    sources = sorted(Path(source).glob("*.ipynb"))
    if not sources:
        raise FileNotFoundError(f"no notebooks in {source}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a folder")
    notebooks = {p.stem: nbformat.read(p, as_version=4) for p in sources}
    varied = {name: variant_questions(nb) for name, nb in notebooks.items()}
    rows, by_numbers = [], {}
    for student in tqdm(students, desc="variants", unit="student", disable=not progress):
        for name, nb in notebooks.items():
            try:
                text = render(make_exercise(nb, student))
            except ValueError as exc:
                raise ValueError(f"{source}/{name}.ipynb: {exc}") from None
            _write_atomic(out / student / f"{name}.ipynb", text)
            for qid in varied[name]:
                numbers = json.dumps(params(qid, student), sort_keys=True, default=str)
                rows.append((student, name, qid, numbers))
                by_numbers.setdefault((qid, numbers), []).append(student)
    buf = [["student", "assignment", "question", "numbers"], *rows]
    import io
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(buf)
    _write_atomic(out / "variants.csv", text.getvalue())
    shared: dict[str, list[tuple[str, str]]] = {}
    for (qid, _), group in by_numbers.items():
        for i, a in enumerate(group):
            shared.setdefault(qid, []).extend((a, b) for b in group[i + 1:])
    return {"students": len(students), "notebooks": len(students) * len(notebooks),
            "shared": {q: pairs for q, pairs in shared.items() if pairs}}


def main(argv: list[str] | None = None) -> int:
    src, dst = default_dirs()
    ap = argparse.ArgumentParser(prog="python -m vae_course.assign", description=__doc__.split("\n\n")[0])
    ap.add_argument("--source", type=Path, default=src, help=f"solved notebooks (default {src})")
    ap.add_argument("--dest", type=Path, default=dst, help=f"where the student notebooks go (default {dst})")
    ap.add_argument("--check", action="store_true", help="write nothing; exit 1 if dest is out of date")
    ap.add_argument("--roster", type=Path, default=None,
                    help="a CSV with a 'student' column: write one variant per student (needs --out)")
    ap.add_argument("--out", type=Path, default=None, help="with --roster: writes OUT/<student>/<assignment>.ipynb")
    args = ap.parse_args(argv)
    if (args.roster is None) != (args.out is None):
        ap.error("--roster and --out go together")
    if args.roster is not None:
        if args.check:
            ap.error("--check checks exercises/; it does not go with --roster")
        try:
            summary = generate_roster(args.source, args.roster, args.out)
        except (OSError, ValueError, TypeError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"wrote {summary['notebooks']} notebook(s) for {summary['students']} student(s) to {args.out} "
              f"(their numbers: {args.out / 'variants.csv'})")
        for qid, pairs in sorted(summary["shared"].items()):
            shown = ", ".join(f"{a}/{b}" for a, b in pairs[:5]) + (" …" if len(pairs) > 5 else "")
            print(f"note: {len(pairs)} pair(s) of students drew the same numbers for {qid}: {shown}")
        return 0
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
