"""Grade a class: verdicts computed by the grader, the students' code run in a sandbox, a gradebook that survives.

    python -m vae_course.grade SUBMISSIONS_DIR --out grades.csv [--jobs 2] [--time-limit 300] [--feedback DIR]

For each ``*.ipynb`` under SUBMISSIONS_DIR (all of them are read into memory first; a symlink
is refused):

1. **Match** it to an instructor notebook in ``solutions/`` by the nbgrader ``grade_id`` s of
   its cells, or failing that by file name, and **rebuild** it: the student's answer cells, the
   instructor's locked cells (an edited or deleted one is restored).
2. **Harvest** in a sandbox (:mod:`vae_course.sandbox`: bubblewrap, no network, read-only system,
   no ``solutions/``, own PID namespace, memory/process/file-size/time limits): a fresh Python
   runs the cells as a script (no check cell runs there), then sends each question's answer
   back as *data* (:mod:`vae_course.wire`, read with ``torch.load(weights_only=True)``).
3. **Score** in the grader's own process with :func:`vae_course.grading.evaluate`: the public
   checks of :mod:`vae_course.checks` and the hidden checks of the instructor's check cell
   (executed here, per submission, never in the sandbox). A function the student wrote is a
   stand-in (:class:`~vae_course.sandbox.RemoteFunction`): each check calls it on inputs it
   draws now (fresh random ones each run, see :func:`vae_course.checks.fresh`), the sandbox runs
   it and sends the result back as data. Nothing the submission prints or writes counts.
   **By-hand questions** are checked against the numbers of the student the file name names
   (:mod:`vae_course.variants`; the notebook's own ``use_variant`` line and metadata are not
   trusted): the numbers ``python -m vae_course.assign --roster`` gave that student. The sandbox
   runs the cells with the same numbers, so an answer computed from ``grading.params(...)`` is
   right too. ``--variants fixed`` grades everyone against the fixed numbers of ``exercises/``.
   A notebook whose metadata names another student (or none) gets a ``note:`` in ``errors``
   (the status stays as it is).
4. **Record** the row at once: appended to ``<out>.journal`` (JSON lines, fsync) and the CSV
   rewritten atomically. Re-running the same command skips the submissions already graded
   (same file, same content), so a crash or a kill loses nothing.

The CSV: ``file``, ``student`` (file name minus the assignment name, or the first folder, as in
nbgrader's ``submitted/<student>/``), ``assignment``, one column per question, ``total``,
``max_total``, ``seconds``, ``status`` (``ok``, ``errors``, ``timeout``, ``crashed``,
``unreadable``, ``unknown assignment``, ``symlink refused``, ``too large``; ``; duplicate`` is
appended when one student handed in the same assignment twice; both are graded) and ``errors``.
Cells that a spreadsheet would read as a formula (``=``, ``+``, ``-``, ``@``) are quoted with ``'``.
"""
from __future__ import annotations

import argparse
import ast
import copy
import csv
import hashlib
import io
import json
import math
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from .assign import BEGIN_HIDDEN, END_HIDDEN, strip_source

__all__ = ["Assignment", "load_assignments", "build_graded_notebook", "grade_submission", "grade_folder",
           "write_csv", "read_submissions", "Gradebook", "Row", "main", "bench"]

SEPARATORS = "_-. "
MAX_NOTEBOOK_MB = 50


# ----------------------------------------------------------------------------- assignments

def _nbg(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def _is_check(cell) -> bool:
    n = _nbg(cell)
    return bool(n.get("grade") and not n.get("solution") and cell.get("cell_type") == "code")


def _hidden_code(source: str) -> str:
    """The lines between the hidden-test markers of one check cell."""
    out, inside = [], False
    for line in source.split("\n"):
        if line.strip() == BEGIN_HIDDEN:
            inside = True
        elif line.strip() == END_HIDDEN:
            inside = False
        elif inside:
            out.append(line)
    return "\n".join(out)


def _answer_exprs(source: str) -> dict[str, str]:
    """``grading.check("qid", EXPR)`` in a check cell → {"qid": "EXPR"} (the expression as text)."""
    out = {}
    try:
        tree = ast.parse(strip_source(source))
    except SyntaxError:
        return out
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and len(node.args) >= 2 and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
                and (getattr(node.func, "attr", None) == "check" or getattr(node.func, "id", None) == "check")):
            out[node.args[0].value] = ast.unparse(node.args[1])
    return out


@dataclass
class Assignment:
    name: str
    nb: nbformat.NotebookNode
    questions: dict[str, float] = field(default_factory=dict)   # check cell grade_id → points
    answers: dict[str, str] = field(default_factory=dict)       # grade_id → the expression naming the answer
    hidden_source: str = ""                                       # the setup cells' imports
    hidden_body: str = ""                                         # every hidden-test region, in order

    @property
    def max_total(self) -> float:
        return sum(self.questions.values())

    @property
    def grade_ids(self) -> set[str]:
        return {_nbg(c)["grade_id"] for c in self.nb.cells if _nbg(c).get("grade_id")}

    def hidden_checks(self) -> dict:
        """Run the instructor's hidden-test code here (trusted), fresh: {qid: {name: Check}}."""
        from . import grading
        registry: dict = {}

        class _Collector:       # what the hidden code sees as `grading`
            def __getattr__(self, name):
                return getattr(grading, name)

            @staticmethod
            def hidden(qid, name, test, hint="", weight=1.0):
                grading.hidden(qid, name, test, hint, weight, registry=registry)
        ns = {"__name__": f"hidden_{self.name}"}
        exec(compile(self.hidden_source, f"<hidden tests of {self.name}>", "exec"), ns)  # noqa: S102 - instructor code
        ns["grading"] = _Collector()
        exec(compile(self.hidden_body, f"<hidden tests of {self.name}>", "exec"), ns)  # noqa: S102
        return registry


def load_assignments(source: Path) -> dict[str, Assignment]:
    """The instructor's notebooks (with hidden tests), by name."""
    out = {}
    for path in sorted(Path(source).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        questions = {_nbg(c)["grade_id"]: float(_nbg(c).get("points", 0)) for c in nb.cells if _is_check(c)}
        answers: dict[str, str] = {}
        imports, hidden = [], []
        for c in nb.cells:
            if c.cell_type != "code" or not _nbg(c).get("locked"):
                continue
            if _is_check(c):
                answers.update({q: e for q, e in _answer_exprs(c.source).items() if q in questions})
                hidden.append(_hidden_code(c.source))
            else:       # the setup cells' imports, so the hidden code sees np, torch, sp, ...
                try:
                    tree = ast.parse(strip_source(c.source))
                except SyntaxError:
                    continue
                imports += [ast.unparse(n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        out[path.stem] = Assignment(path.stem, nb, questions, answers, "\n".join(imports), "\n".join(hidden))
    if not out:
        raise FileNotFoundError(f"no instructor notebooks in {source}")
    return out


def match_assignment(nb, path: Path, assignments: dict[str, Assignment]) -> Assignment | None:
    ids = {_nbg(c).get("grade_id") for c in nb.cells} - {None}
    best = max(assignments.values(), key=lambda a: len(a.grade_ids & ids))
    if best.grade_ids & ids - {"setup"}:
        return best
    for name, a in sorted(assignments.items(), key=lambda kv: -len(kv[0])):
        if name in path.name:
            return a
    return None


def student_id(path: Path, root: Path, assignment: str | None) -> str:
    rel = path.relative_to(root)
    if len(rel.parts) > 1:
        return rel.parts[0]
    stem = path.stem
    if assignment and assignment in stem:
        stem = stem.replace(assignment, "", 1).strip(SEPARATORS)
    return stem or path.stem


def build_graded_notebook(submission, assignment: Assignment):
    """The student's answers and added cells, with the instructor's locked and check cells."""
    source_cells = [c for c in assignment.nb.cells if _nbg(c).get("grade_id")]
    instructor = {_nbg(c)["grade_id"]: c for c in source_cells if _nbg(c).get("locked") or _is_check(c)}
    out, present = [], {}
    for cell in submission.cells:
        gid = _nbg(cell).get("grade_id")
        new = copy.deepcopy(instructor[gid] if gid in instructor else cell)
        if new.cell_type == "code":
            new.outputs, new.execution_count = [], None
        if gid:
            if gid in present:
                continue          # a duplicated cell: keep the first
            present[gid] = new
        out.append(new)
    for i, cell in enumerate(source_cells):      # restore deleted instructor cells in their place
        gid = _nbg(cell)["grade_id"]
        if gid in present or gid not in instructor:
            continue
        before = next((present[_nbg(c)["grade_id"]] for c in reversed(source_cells[:i])
                       if _nbg(c)["grade_id"] in present), None)
        at = next((k + 1 for k, c in enumerate(out) if c is before), 0)
        present[gid] = copy.deepcopy(cell)
        present[gid].outputs, present[gid].execution_count = [], None
        out.insert(at, present[gid])
    nb = copy.deepcopy(submission)
    nb.cells = out
    return nb


def harvest_program(nb, assignment: Assignment) -> list[tuple[int, str]]:
    """The cells that run in the sandbox: every code cell but the check cells; instructor cells without hidden code."""
    ours = {_nbg(c)["grade_id"] for c in assignment.nb.cells if _nbg(c).get("grade_id") and _nbg(c).get("locked")}
    cells = []
    for i, c in enumerate(nb.cells):
        if c.cell_type != "code" or _is_check(c):
            continue
        src = strip_source(c.source) if _nbg(c).get("grade_id") in ours else c.source
        cells.append((i, src))
    return cells


# ----------------------------------------------------------------------------- rows and the gradebook

@dataclass
class Row:
    file: str
    student: str
    assignment: str = ""
    points: dict[str, float] = field(default_factory=dict)
    total: float = 0.0
    max_total: float = 0.0
    seconds: float = 0.0
    status: str = "ok"
    errors: list[str] = field(default_factory=list)
    variants: str = "student"      # whose numbers the by-hand questions were checked against (journal only)
    sha256: str = ""


_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _safe(cell: str) -> str:
    """A CSV cell a spreadsheet will not run as a formula (OWASP: prefix with ')."""
    return "'" + cell if cell.startswith(_FORMULA) else cell


def _fmt(x: float) -> str:
    return f"{x:g}"


def write_csv(rows: list[Row], out: Path, order: list[str] | None = None) -> None:
    """One row per submission; question columns in the assignments' order. Atomic (temp file, fsync, rename)."""
    questions: list[str] = []
    for q in order or []:
        if any(q in r.points for r in rows) and q not in questions:
            questions.append(q)
    for r in rows:
        questions += [q for q in r.points if q not in questions]
    header = ["file", "student", "assignment", *questions, "total", "max_total", "seconds", "status", "errors"]
    out = Path(out)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for r in rows:
            w.writerow([_safe(r.file), _safe(r.student), _safe(r.assignment),
                        *[_fmt(r.points[q]) if q in r.points else "" for q in questions],
                        _fmt(r.total), _fmt(r.max_total), f"{r.seconds:.1f}", _safe(r.status),
                        _safe("; ".join(r.errors))])
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, out)


class Gradebook:
    """``<out>.journal`` (one JSON row per line, appended and fsynced) and ``<out>`` (the CSV, rewritten atomically)."""

    def __init__(self, out: Path, order: list[str] | None = None):
        self.out = Path(out)
        self.journal = self.out.with_name(self.out.name + ".journal")
        self.order = order or []
        self.lock = threading.Lock()
        parent = self.out.parent if str(self.out.parent) else Path(".")
        if not parent.is_dir():
            raise FileNotFoundError(f"--out: folder {parent} does not exist")
        if self.out.exists() and (self.out.is_dir() or not os.access(self.out, os.W_OK)):
            raise PermissionError(f"--out: {self.out} is not a writable file")
        try:                                      # prove we can write both files before grading anything
            probe = tempfile.NamedTemporaryFile(dir=parent, prefix=f".{self.out.name}.", suffix=".probe", delete=True)
            probe.close()
            with open(self.journal, "a", encoding="utf-8"):
                pass
        except OSError as exc:
            raise PermissionError(f"--out: cannot write in {parent}: {exc}") from None
        self.rows: dict[str, Row] = {}
        for line in self.journal.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                rec = json.loads(line)
                self.rows[rec["file"]] = Row(**rec)
            except (ValueError, TypeError, KeyError):
                continue                          # a line torn by a kill: that submission is graded again

    def done(self, file: str, sha256: str, variants: str = "student") -> Row | None:
        r = self.rows.get(file)
        return r if r is not None and r.sha256 == sha256 and r.variants == variants else None

    def record(self, row: Row) -> None:
        with self.lock:
            with open(self.journal, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(asdict(row), ensure_ascii=False) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            self.rows[row.file] = row
            self.export()

    def export(self, keep: list[str] | None = None) -> None:
        rows = [r for f, r in sorted(self.rows.items()) if keep is None or f in keep]
        write_csv(rows, self.out, self.order)


# ----------------------------------------------------------------------------- submissions

@dataclass
class Submission:
    path: Path
    rel: str
    data: bytes | None = None
    problem: str = ""          # status when it cannot be graded (symlink, too large, unreadable)
    detail: str = ""

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data or self.problem.encode()).hexdigest()


def read_submissions(folder: Path, max_mb: int = MAX_NOTEBOOK_MB) -> list[Submission]:
    """Every ``*.ipynb`` under ``folder``, read into memory now; symlinks (files or folders) are refused."""
    folder = Path(folder)
    out = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        for d in list(dirs):
            p = Path(root) / d
            if p.is_symlink():
                dirs.remove(d)
                out.append(Submission(p, str(p.relative_to(folder)), problem="symlink refused",
                                      detail="a symbolic link to a folder: hand in the files themselves"))
            elif d == ".ipynb_checkpoints":
                dirs.remove(d)
        for name in files:
            if not name.endswith(".ipynb"):
                continue
            p = Path(root) / name
            sub = Submission(p, str(p.relative_to(folder)))
            if p.is_symlink():
                sub.problem, sub.detail = "symlink refused", "a symbolic link, not a notebook file"
            else:
                try:
                    fd = os.open(p, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
                    with os.fdopen(fd, "rb") as fh:
                        data = fh.read(max_mb * 2**20 + 1)
                    if len(data) > max_mb * 2**20:
                        sub.problem, sub.detail = "too large", f"larger than {max_mb} MB"
                    else:
                        sub.data = data
                except OSError as exc:
                    sub.problem, sub.detail = "unreadable", f"{type(exc).__name__}: {exc}"
            out.append(sub)
    return sorted(out, key=lambda s: s.rel)


# ----------------------------------------------------------------------------- one submission

@dataclass
class Options:
    time_limit: float = 300.0
    max_output: int = 2_000_000
    max_file_mb: int = 200
    memory_mb: int = 2048
    max_procs: int = 64
    sandbox: bool = True
    feedback: Path | None = None
    variants: str = "student"      # "student": each student's own numbers; "fixed": those of exercises/


VARIANT_MODES = ("student", "fixed")


def _variant_note(nb, student: str, assignment: Assignment) -> str | None:
    """A note when the notebook was written for another student's numbers (or for the fixed ones)."""
    from .assign import variant_questions
    if not variant_questions(assignment.nb):
        return None
    meta = nb.metadata.get("vae_course") if isinstance(nb.metadata, dict) else None
    written_for = meta.get("student") if isinstance(meta, dict) else None
    if not isinstance(written_for, str):
        return (f"note: this notebook carries no student variant (from exercises/?); its by-hand answers "
                f"were checked against {student}'s numbers")
    if written_for.strip().casefold() != student.strip().casefold():
        return (f"note: this notebook was written for student {written_for[:64]!r}; its by-hand answers were "
                f"checked against {student}'s numbers")
    return None


def _limits(opt: Options):
    from .sandbox import Limits
    return Limits(time_limit=opt.time_limit, memory_mb=opt.memory_mb, max_procs=opt.max_procs,
                  max_file_mb=opt.max_file_mb, max_output=opt.max_output)


def grade_submission(sub: Submission, root: Path, assignments: dict[str, Assignment], worker, opt: Options) -> Row:
    """Grade one submission on a :class:`~vae_course.sandbox.Worker` (see the module docstring); never raises."""
    from . import grading
    from .sandbox import SandboxStopped

    start = time.monotonic()
    row = Row(file=sub.rel, student=student_id(sub.path, root, None), sha256=sub.sha256)
    if sub.problem:
        row.status, row.errors = sub.problem, [sub.detail]
        return row
    try:
        nb = nbformat.reads(sub.data.decode("utf-8"), as_version=4)
    except Exception as exc:  # noqa: BLE001 - a broken file is a row, not a crash
        row.status, row.errors = "unreadable", [f"not a notebook: {type(exc).__name__}: {str(exc)[:200]}"]
        return row
    assignment = match_assignment(nb, sub.path, assignments)
    if assignment is None:
        row.status, row.errors = "unknown assignment", ["matches none of the instructor notebooks"]
        return row
    row.assignment, row.student = assignment.name, student_id(sub.path, root, assignment.name)
    row.variants = opt.variants
    whose = row.student if opt.variants == "student" else None
    row.max_total = assignment.max_total
    row.points = {q: 0.0 for q in assignment.questions}
    graded = build_graded_notebook(nb, assignment)
    cells = harvest_program(graded, assignment)
    answers = [(q, assignment.answers[q]) for q in assignment.questions if q in assignment.answers]
    # the sandbox runs the cells with this student's numbers (grading.params), set before any student code
    cells.insert(0, (-1, f"from vae_course import grading as _vae_course_grading\n"
                         f"_vae_course_grading.use_variant({whose!r})\ndel _vae_course_grading"))
    if whose is not None:
        note = _variant_note(nb, whose, assignment)
        if note:
            row.errors.append(note)
    scores: dict = {}
    report = {"cells": [], "truncated": False, "timeout": False}
    from .variants import of as variant_of
    try:
        with worker.session() as session, variant_of(whose):
            try:
                report, values = session.run(cells, answers, opt.time_limit, opt.max_output)
            except SandboxStopped as exc:
                values = {}
                row.status = _stopped_status(str(exc))
                row.errors.append(str(exc))
            hidden = assignment.hidden_checks()
            for qid in assignment.questions:
                if qid not in values:
                    if session.stopped is None:
                        row.errors.append(f"{qid}: no answer")
                    continue
                value = values[qid]
                if isinstance(value, Exception):
                    row.errors.append(f"{qid}: {value}")
                    continue
                score = grading.evaluate(qid, value, hidden.get(qid, {}), capture=False)
                scores[qid] = score
                row.points[qid] = max(0.0, min(float(score), assignment.questions[qid]))
            if session.stopped and session.stopped != "closed" and row.status == "ok":
                row.status = _stopped_status(session.stopped)
                row.errors.append(session.stopped)
    except Exception as exc:  # noqa: BLE001 - one submission's failure is its row, never the run's
        row.status = "crashed"
        row.errors.append(f"grader: {type(exc).__name__}: {str(exc)[:300]}")
    for c in report["cells"]:
        if c["error"]:
            row.errors.append(f"cell {c['index']}: {c['error'][:200]}")
    if report["timeout"] and row.status == "ok":
        row.status = "timeout"
    if report["truncated"]:
        row.errors.append("output truncated")
    if row.status == "ok" and any(not e.startswith(("output truncated", "note:")) for e in row.errors):
        row.status = "errors"
    row.total = round(sum(row.points.values()), 4)
    if opt.feedback is not None:
        _write_feedback(graded, assignment, report, scores, Path(opt.feedback) / row.file)
    row.seconds = round(time.monotonic() - start, 2)
    return row


def _stopped_status(why: str) -> str:
    return "timeout" if "time limit" in why or "stopped after" in why else "crashed"


def _write_feedback(nb, assignment: Assignment, report: dict, scores: dict, target: Path) -> None:
    """The notebook handed back: the student's cells with what they printed, each check cell's public
    code and the grader's verdict (hidden checks by name only; their code is never copied)."""
    from . import grading
    try:
        nb = copy.deepcopy(nb)
        by_index = {c["index"]: c for c in report["cells"]}
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            cell.outputs, cell.execution_count = [], None
            if _is_check(cell):
                cell.source = strip_source(cell.source)
                qid = _nbg(cell).get("grade_id")
                text = grading.report(scores[qid]) if qid in scores else f"{qid}: no answer (0 points)"
                cell.outputs.append(nbformat.v4.new_output("stream", name="stdout", text=text + "\n"))
            elif i in by_index:
                got = by_index[i]
                if got["output"]:
                    cell.outputs.append(nbformat.v4.new_output("stream", name="stdout", text=got["output"]))
                if got["error"]:
                    cell.outputs.append(nbformat.v4.new_output("stream", name="stderr", text=got["error"] + "\n"))
        assert all(BEGIN_HIDDEN not in c.source for c in nb.cells)
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target)
    except Exception as exc:  # noqa: BLE001 - a feedback copy must not stop the grading
        print(f"warning: no feedback copy for {target.name}: {exc}", file=sys.stderr)


# ----------------------------------------------------------------------------- the class

def grade_folder(folder: Path, source: Path | None = None, time_limit: float = 300.0, jobs: int = 1,
                 max_output: int = 2_000_000, max_file_mb: int = 200, progress: bool = True,
                 feedback: Path | None = None, memory_mb: int = 2048, max_procs: int = 64,
                 sandbox: bool = True, out: Path | None = None, variants: str = "student") -> list[Row]:
    """Grade every notebook under ``folder``; with ``out``, record each row as soon as it is graded (and resume)."""
    from tqdm.auto import tqdm

    folder = Path(folder)
    if variants not in VARIANT_MODES:
        raise ValueError(f"variants must be one of {', '.join(VARIANT_MODES)}, got {variants!r}")
    if not folder.is_dir():
        raise FileNotFoundError(f"submissions folder {folder} does not exist")
    source = Path(source or default_source())
    assignments = load_assignments(source)
    order = [q for a in assignments.values() for q in a.questions]
    book = Gradebook(out, order) if out is not None else None
    if sandbox:
        from .sandbox import bwrap_problem
        problem = bwrap_problem()
        if problem:
            raise RuntimeError(f"no sandbox: {problem}. Grade on a Linux machine with bubblewrap, or pass "
                               "--no-sandbox to accept the risks it prints")
    subs = read_submissions(folder)               # every file in memory before any student code runs
    import secrets
    from .checks import set_run_seed
    set_run_seed(secrets.randbits(40))            # fresh random inputs for the checks, this run
    opt = Options(time_limit, max_output, max_file_mb, memory_mb, max_procs, sandbox, feedback, variants)
    scratch = Path(tempfile.mkdtemp(prefix="vae-course-grade-"))
    from .sandbox import Worker
    workers: list = []
    local = threading.local()
    rows: dict[str, Row] = {}
    todo = []
    for s in subs:
        prev = book.done(s.rel, s.sha256, variants) if book else None
        if prev is not None:
            rows[s.rel] = prev
        else:
            todo.append(s)
    try:
        def one(s):
            if not hasattr(local, "worker"):        # one warm worker per grading thread
                local.worker = Worker(_limits(opt), scratch, sandbox=sandbox, forbidden=[source])
                workers.append(local.worker)
            r = grade_submission(s, folder, assignments, local.worker, opt)
            if book is not None:
                book.record(r)
            return r
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            for r in tqdm(pool.map(one, todo), total=len(todo), desc="grading", unit="notebook",
                          disable=not progress):
                rows[r.file] = r
    finally:
        for w in workers:
            w.stop(graceful=True)
        shutil.rmtree(scratch, ignore_errors=True)
    result = [rows[s.rel] for s in subs]
    _flag_duplicates(result)
    if book is not None:
        for r in result:
            book.rows[r.file] = r
        book.export(keep=[s.rel for s in subs])
    return result


def _flag_duplicates(rows: list[Row]) -> None:
    seen: dict[tuple[str, str], list[Row]] = {}
    for r in rows:
        if r.assignment:
            seen.setdefault((r.student, r.assignment), []).append(r)
    for group in seen.values():
        if len(group) > 1:
            for r in group:
                if "duplicate" not in r.status:
                    r.status += "; duplicate"
                others = ", ".join(o.file for o in group if o is not r)
                note = f"duplicate: {r.student} also handed in {others}"
                if note not in r.errors:
                    r.errors.append(note)


def default_source() -> Path:
    here = Path(__file__).resolve().parent.parent / "solutions"
    return here if here.is_dir() else Path("solutions")


# ----------------------------------------------------------------------------- command line

def _positive_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return v


def _count(minimum: int):
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if v < minimum:
            raise argparse.ArgumentTypeError(f"must be ≥ {minimum}, got {v}")
        return v
    return parse


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m vae_course.grade", description=__doc__.split("\n\n")[0])
    ap.add_argument("submissions", type=Path, help="folder of submitted notebooks (searched recursively)")
    ap.add_argument("--out", type=Path, default=Path("grades.csv"),
                    help="the gradebook CSV (default grades.csv); <out>.journal beside it lets a re-run resume")
    ap.add_argument("--source", type=Path, default=None, help="instructor notebooks with hidden tests (default solutions/)")
    ap.add_argument("--time-limit", type=_positive_float, default=300.0,
                    help="seconds for one notebook's cells (default 300); the checks' calls have their own 30 s each")
    ap.add_argument("--jobs", type=_count(1), default=1, help="submissions graded at once (default 1)")
    ap.add_argument("--max-output", type=_count(0), default=2_000_000, help="characters of printed output kept per notebook")
    ap.add_argument("--max-file-mb", type=_count(1), default=200, help="largest file a submission may write")
    ap.add_argument("--memory-mb", type=_count(64), default=2048, help="memory per submission (default 2048)")
    ap.add_argument("--max-procs", type=_count(1), default=64, help="processes and threads per submission (default 64)")
    ap.add_argument("--feedback", type=Path, default=None,
                    help="write each graded notebook with its verdicts and hints here, to hand back")
    ap.add_argument("--variants", choices=VARIANT_MODES, default="student",
                    help="by-hand numbers to check against: 'student' (default), each student's own, as written by "
                         "`python -m vae_course.assign --roster`; 'fixed', the numbers of exercises/ for everyone")
    ap.add_argument("--no-sandbox", action="store_true",
                    help="run without bubblewrap (macOS, locked-down hosts): NOT safe against hostile code")
    return ap


def main(argv: list[str] | None = None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    if not args.submissions.is_dir():
        print(f"error: submissions folder {args.submissions} does not exist", file=sys.stderr)
        return 2
    if args.no_sandbox:
        from .sandbox import UNPROTECTED
        print(f"warning: {UNPROTECTED}", file=sys.stderr)
    try:
        rows = grade_folder(args.submissions, args.source, args.time_limit, args.jobs, args.max_output,
                            args.max_file_mb, feedback=args.feedback, memory_mb=args.memory_mb,
                            max_procs=args.max_procs, sandbox=not args.no_sandbox, out=args.out,
                            variants=args.variants)
    except (FileNotFoundError, PermissionError, ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    graded = [r for r in rows if r.assignment]
    print(f"graded {len(rows)} submission(s) → {args.out}")
    if graded:
        mean_s = sum(r.seconds for r in graded) / len(graded)
        print(f"mean grading time {mean_s:.1f} s per submission; "
              f"{sum(r.status != 'ok' for r in rows)} with problems (see the status and errors columns)")
    return 0


# ----------------------------------------------------------------------------- benchmark

def _cpu_seconds() -> float:
    import resource
    return sum(getattr(resource.getrusage(who), f) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
               for f in ("ru_utime", "ru_stime"))


def bench(args) -> int:
    """``python -m vae_course.bench grade``: submissions per minute and peak memory, on copies of a solved notebook."""
    import resource
    src = default_source() / f"{args.assignment}.ipynb"
    if not src.is_file():
        print(f"error: {src} not found", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="vae-course-bench-") as tmp:
        subs = Path(tmp) / "submissions"
        subs.mkdir()
        for i in range(args.n):
            shutil.copy(src, subs / f"student{i:03d}_{args.assignment}.ipynb")
        t0 = time.perf_counter()
        cpu0 = _cpu_seconds()
        rows = grade_folder(subs, jobs=args.jobs, progress=False, sandbox=not args.no_sandbox,
                            out=Path(tmp) / "grades.csv")
        wall = time.perf_counter() - t0
        cpu = _cpu_seconds() - cpu0
    kb = 1 if sys.platform != "darwin" else 1 / 1024
    print(json.dumps({
        "assignment": args.assignment, "submissions": len(rows), "jobs": args.jobs, "sandbox": not args.no_sandbox,
        "seconds": round(wall, 2), "submissions_per_min": round(60 * len(rows) / wall, 1),
        "full_marks": sum(r.total == r.max_total for r in rows),
        "cpu_s_per_submission": round(cpu / len(rows), 2),   # grader + sandboxes, worker start-up included
        "per_min_on_2_idle_cores": round(2 * 60 * len(rows) / cpu, 1),
        "peak_worker_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * kb / 1024, 1),
        "grader_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * kb / 1024, 1),
        "cpus": os.cpu_count()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
