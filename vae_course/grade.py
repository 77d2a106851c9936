"""Grade a class: every submitted notebook executed in its own process, one CSV row per submission.

    python -m vae_course.grade SUBMISSIONS_DIR --out grades.csv [--time-limit 300] [--jobs 1]

For each ``*.ipynb`` under SUBMISSIONS_DIR (a progress bar counts them):

1. **Match** it to an assignment in ``solutions/`` (the instructor's copy) by the nbgrader
   ``grade_id`` s of its cells, or failing that by file name.
2. **Rebuild** it: the student's answer cells are kept, every locked or check cell is replaced
   by the instructor's version (so hidden tests are injected, and an edited or deleted check
   cell is restored); cells the student added stay where they are.
3. **Execute** it with nbclient in a fresh worker process (``python -m vae_course.grade
   --worker``) and a fresh kernel, in a new temporary working folder that is also its HOME and
   TMPDIR, with a time limit on the whole notebook's execution (the kernel's start is not
   counted). A cell that raises does not stop the others. When the time is up the kernel is
   stopped and the cells not yet run score 0. Output beyond ``--max-output`` bytes is dropped.
4. **Score** each question from its check cell's output (``vae_course.grading.Score``): points
   per passed check, public and hidden (partial credit). A check cell that raised, or never
   ran, scores 0.

The CSV has one row per submission: ``file``, ``student`` (the file name minus the assignment
name, or the first folder under SUBMISSIONS_DIR, as in nbgrader's ``submitted/<student>/``),
``assignment``, one column per question, ``total``, ``max_total``, ``seconds`` (grading time),
``status`` (``ok``, ``errors``, ``timeout``, ``crashed``, ``unknown assignment``) and ``errors``
(what went wrong, per question and per cell). Written atomically, after all submissions.
``--feedback DIR`` also keeps each executed notebook (with every check's ✔/✘ and hint).

**What the sandbox does and does not do.** Each submission runs in its own processes, so a
crash, an infinite loop (time limit; the worker is killed as a last resort) or megabytes of
output (capped, and the kernel's own stdout/stderr go to /dev/null) cannot stop the other
submissions or the grader. Relative paths, ``~`` and the temp dir all point into a throw-away
folder that is deleted afterwards, files are limited to ``--max-file-mb`` (RLIMIT_FSIZE, POSIX),
and the submission is a copy, so ordinary code cannot damage the submissions, the solutions or
the gradebook. It is *not* a security boundary: student code runs as your user, so a
deliberately malicious notebook can still read or write absolute paths, use the network,
start processes or forge its own score (by patching ``vae_course.grading`` in its kernel).
For an adversarial setting, run this command inside a container or a VM with no access to
anything you care about (as with nbgrader's ``autograde``).
"""
from __future__ import annotations

import argparse
import copy
import csv
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .grading import MIME

__all__ = ["Assignment", "load_assignments", "build_graded_notebook", "grade_submission", "grade_folder",
           "write_csv", "main"]

KERNEL_NAME = "vae-course-grader"
SEPARATORS = "_-. "


# ----------------------------------------------------------------------------- assignments

def _nbg(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


@dataclass
class Assignment:
    name: str
    nb: nbformat.NotebookNode
    questions: dict[str, float] = field(default_factory=dict)   # check cell grade_id → points

    @property
    def max_total(self) -> float:
        return sum(self.questions.values())

    @property
    def grade_ids(self) -> set[str]:
        return {_nbg(c)["grade_id"] for c in self.nb.cells if _nbg(c).get("grade_id")}


def load_assignments(source: Path) -> dict[str, Assignment]:
    """The instructor's notebooks (with hidden tests), by name."""
    out = {}
    for path in sorted(Path(source).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        questions = {_nbg(c)["grade_id"]: float(_nbg(c).get("points", 0)) for c in nb.cells
                     if _nbg(c).get("grade") and not _nbg(c).get("solution") and c.cell_type == "code"}
        out[path.stem] = Assignment(path.stem, nb, questions)
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
    """The notebook that is executed: the student's answers, the instructor's locked and check cells."""
    source_cells = [c for c in assignment.nb.cells if _nbg(c).get("grade_id")]
    instructor = {_nbg(c)["grade_id"]: c for c in source_cells
                  if _nbg(c).get("locked") or (_nbg(c).get("grade") and not _nbg(c).get("solution"))}
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
    # restore instructor cells the student deleted, after the cell that precedes them in the source
    for i, cell in enumerate(source_cells):
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
    nb.metadata["kernelspec"] = {"name": KERNEL_NAME, "display_name": "vae-course grader", "language": "python"}
    return nb


# ----------------------------------------------------------------------------- the worker (own process)

def _worker(args) -> int:
    """Execute one notebook cell by cell; print one JSON line per check cell, then a summary line."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    class CappedClient(NotebookClient):
        budget = args.max_output
        truncated = False

        def output(self, outs, msg, display_id, cell_index):
            if cell_index in check_cells and msg["msg_type"] == "execute_result":
                return super().output(outs, msg, display_id, cell_index)   # the score is never crowded out
            size = len(json.dumps(msg.get("content", {}), default=str))
            if self.budget - size < 0:
                if not self.truncated:
                    self.truncated = True
                    outs.append(nbformat.v4.new_output("stream", name="stdout",
                                                       text=f"[grader: output cut after {args.max_output} bytes]\n"))
                return None
            self.budget -= size
            return super().output(outs, msg, display_id, cell_index)

    _limit_files(args.max_file_mb * 2**20)
    nb = nbformat.read(args.worker, as_version=4)
    is_check = lambda c: bool(_nbg(c).get("grade") and not _nbg(c).get("solution"))  # noqa: E731
    check_cells = {i for i, c in enumerate(nb.cells) if is_check(c)}
    client = CappedClient(nb, kernel_name=KERNEL_NAME, allow_errors=True, shutdown_kernel="immediate",
                          resources={"metadata": {"path": os.getcwd()}}, iopub_timeout=5)
    status, detail = "ok", ""

    def report(index, cell, ran: bool):
        """One JSON line per check cell, and one per other cell that raised."""
        error = next((f"{o.ename}: {o.evalue}" for o in cell.get("outputs", []) if o.output_type == "error"), None)
        if not is_check(cell):
            if error:
                print(json.dumps({"cell": index, "error": error}), flush=True)
            return
        score = next((o.data[MIME] for o in cell.get("outputs", []) if o.output_type == "execute_result"
                      and MIME in o.get("data", {})), None)
        print(json.dumps({"grade_id": _nbg(cell)["grade_id"], "ran": ran, "error": error, "score": score}), flush=True)

    code_cells = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    done = 0
    try:
        with client.setup_kernel(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
            deadline = time.monotonic() + args.time_limit      # execution time; the kernel's start is not counted
            for i, cell in code_cells:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    status, detail = "timeout", f"time limit of {args.time_limit:g} s reached before cell {i}"
                    break
                client.timeout = max(1, math.ceil(remaining))
                try:
                    client.execute_cell(cell, i)
                except CellTimeoutError:
                    status, detail = "timeout", f"time limit of {args.time_limit:g} s reached in cell {i}"
                    break
                done += 1
                report(i, cell, True)
    except DeadKernelError:
        status, detail = "crashed", f"the kernel died in cell {code_cells[done][0] if done < len(code_cells) else '?'}"
    except Exception as exc:  # noqa: BLE001 - the summary must always be printed
        status, detail = "crashed", f"{type(exc).__name__}: {exc}"
    if status != "ok":
        for i, cell in code_cells[done:]:
            report(i, cell, False)
    try:
        nbformat.write(nb, Path(args.worker).with_name("executed.ipynb"))
    except Exception:  # noqa: BLE001 - feedback is a convenience; the scores are on stdout
        pass
    print(json.dumps({"summary": True, "status": status, "detail": detail, "truncated": client.truncated}), flush=True)
    return 0


# ----------------------------------------------------------------------------- one submission

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


def _limit_files(max_bytes: int) -> None:
    """Cap the size of any file this process and its children (the kernel) write; no core dumps. POSIX only."""
    try:
        import resource
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ImportError, ValueError, OSError):
        pass


def _kernelspec(root: Path) -> Path:
    """A kernelspec running this interpreter, so the grader's environment is the one executing."""
    kdir = root / "jupyter" / "kernels" / KERNEL_NAME
    kdir.mkdir(parents=True, exist_ok=True)
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "vae-course grader", "language": "python"}
    (kdir / "kernel.json").write_text(json.dumps(spec))
    return root / "jupyter"


def grade_submission(path: Path, root: Path, assignments: dict[str, Assignment], scratch: Path,
                     time_limit: float = 300.0, max_output: int = 2_000_000, max_file_mb: int = 200,
                     feedback: Path | None = None) -> Row:
    """Grade one notebook (see the module docstring); never raises."""
    start = time.monotonic()
    row = Row(file=str(path.relative_to(root)), student=student_id(path, root, None))
    try:
        submission = nbformat.read(path, as_version=4)
    except Exception as exc:  # noqa: BLE001 - a broken file is a row, not a crash
        row.status, row.errors = "unreadable", [f"not a notebook: {type(exc).__name__}: {exc}"]
        return row
    assignment = match_assignment(submission, path, assignments)
    if assignment is None:
        row.status, row.errors = "unknown assignment", ["matches none of the notebooks in solutions/"]
        return row
    row.assignment, row.student = assignment.name, student_id(path, root, assignment.name)
    row.max_total = assignment.max_total
    row.points = {q: 0.0 for q in assignment.questions}

    work = Path(tempfile.mkdtemp(prefix="run-", dir=scratch))
    cwd = work / "work"
    cwd.mkdir()
    nb_path = work / "graded.ipynb"
    nbformat.write(build_graded_notebook(submission, assignment), nb_path)
    pkg_root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ, HOME=str(cwd), TMPDIR=str(cwd), TEMP=str(cwd), TMP=str(cwd),
               JUPYTER_PATH=str(_kernelspec(work)), JUPYTER_CONFIG_DIR=str(work / "jupyter-config"),
               JUPYTER_RUNTIME_DIR=str(work / "runtime"), IPYTHONDIR=str(work / "ipython"),
               MPLCONFIGDIR=str(work / "mpl"), MPLBACKEND="Agg", PYTHONDONTWRITEBYTECODE="1",
               PYTHONPATH=os.pathsep.join(p for p in (pkg_root, os.environ.get("PYTHONPATH")) if p))
    cmd = [sys.executable, "-m", "vae_course.grade", "--worker", str(nb_path), "--time-limit", str(time_limit),
           "--max-output", str(max_output), "--max-file-mb", str(max_file_mb)]
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=time_limit + 120)   # the worker stops itself; this is the backstop
    except subprocess.TimeoutExpired:
        _kill(proc)
        out, err = proc.communicate()
        row.status = "timeout"
        row.errors.append(f"killed after {time_limit + 120:g} s")
    _score(row, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), assignment)
    executed = work / "executed.ipynb"
    if feedback is not None and executed.is_file():
        _write_feedback(executed, Path(feedback) / row.file)
    shutil.rmtree(work, ignore_errors=True)
    row.seconds = round(time.monotonic() - start, 2)
    return row


def _write_feedback(executed: Path, target: Path) -> None:
    """The executed notebook for the student: outputs kept, the hidden tests' code removed."""
    from .assign import BEGIN_HIDDEN, strip_source
    try:
        nb = nbformat.read(executed, as_version=4)
        for cell in nb.cells:
            if BEGIN_HIDDEN in cell.source:
                cell.source = strip_source(cell.source)
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target)
    except Exception as exc:  # noqa: BLE001 - a feedback copy must not stop the grading
        print(f"warning: no feedback copy for {target.name}: {exc}", file=sys.stderr)


def _kill(proc) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (AttributeError, ProcessLookupError, PermissionError):
        proc.kill()


def _score(row: Row, out: str, err: str, assignment: Assignment) -> None:
    summary = None
    for line in out.splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if rec.get("summary"):
            summary = rec
            continue
        gid = rec.get("grade_id")
        if gid is None and rec.get("error"):
            row.errors.append(f"cell {rec.get('cell')}: {rec['error'][:200]}")
        if gid not in row.points:
            continue
        score = rec.get("score")
        if rec.get("error"):
            row.errors.append(f"{gid}: {rec['error'][:200]}")
        elif not rec.get("ran"):
            row.errors.append(f"{gid}: not run")
        elif score is None or score.get("qid") != gid:
            row.errors.append(f"{gid}: the check cell printed no score")
        else:
            row.points[gid] = max(0.0, min(float(score["earned"]), assignment.questions[gid]))
    if summary is None:
        if row.status == "ok":
            row.status = "crashed"
        tail = err.strip().splitlines()[-1:] or ["no output"]
        row.errors.append(f"the worker stopped without a summary: {tail[0][:300]}")
    else:
        if summary["status"] != "ok":
            row.status = summary["status"]
            row.errors.append(summary["detail"])
        if summary.get("truncated"):
            row.errors.append("output truncated")
    if row.status == "ok" and row.errors:
        row.status = "errors"
    row.total = round(sum(row.points.values()), 4)


# ----------------------------------------------------------------------------- the class

def find_submissions(folder: Path) -> list[Path]:
    return sorted(p for p in Path(folder).rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def grade_folder(folder: Path, source: Path | None = None, time_limit: float = 300.0, jobs: int = 1,
                 max_output: int = 2_000_000, max_file_mb: int = 200, progress: bool = True,
                 feedback: Path | None = None) -> list[Row]:
    """Grade every notebook under ``folder`` against the instructor notebooks in ``source``."""
    from tqdm.auto import tqdm

    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"submissions folder {folder} does not exist")
    assignments = load_assignments(source or default_source())
    paths = find_submissions(folder)
    scratch = Path(tempfile.mkdtemp(prefix="vae-course-grade-"))
    try:
        def one(p):
            return grade_submission(p, folder, assignments, scratch, time_limit, max_output, max_file_mb, feedback)
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            rows = list(tqdm(pool.map(one, paths), total=len(paths), desc="grading", unit="notebook",
                             disable=not progress))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return rows


def default_source() -> Path:
    here = Path(__file__).resolve().parent.parent / "solutions"
    return here if here.is_dir() else Path("solutions")


def write_csv(rows: list[Row], out: Path) -> None:
    """One row per submission; question columns in the order the assignments list them. Atomic."""
    questions: list[str] = []
    for r in rows:
        questions += [q for q in r.points if q not in questions]
    header = ["file", "student", "assignment", *questions, "total", "max_total", "seconds", "status", "errors"]
    out = Path(out)
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for r in rows:
            w.writerow([r.file, r.student, r.assignment, *[_fmt(r.points[q]) if q in r.points else "" for q in questions],
                        _fmt(r.total), _fmt(r.max_total), f"{r.seconds:.1f}", r.status, "; ".join(r.errors)])
    os.replace(tmp, out)


def _fmt(x: float) -> str:
    return f"{x:g}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m vae_course.grade", description=__doc__.split("\n\n")[0])
    ap.add_argument("submissions", nargs="?", type=Path, help="folder of submitted notebooks (searched recursively)")
    ap.add_argument("--out", type=Path, default=Path("grades.csv"), help="the gradebook CSV (default grades.csv)")
    ap.add_argument("--source", type=Path, default=None, help="instructor notebooks with hidden tests (default solutions/)")
    ap.add_argument("--time-limit", type=float, default=300.0, help="seconds per notebook (default 300)")
    ap.add_argument("--jobs", type=int, default=1, help="notebooks graded at once (default 1)")
    ap.add_argument("--max-output", type=int, default=2_000_000, help="bytes of output kept per notebook")
    ap.add_argument("--max-file-mb", type=int, default=200, help="largest file a submission may write (POSIX)")
    ap.add_argument("--feedback", type=Path, default=None,
                    help="also save each executed notebook (check outputs and hints) here, to return to students")
    ap.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return _worker(args)
    if args.submissions is None:
        ap.error("give the folder of submissions")
    try:
        rows = grade_folder(args.submissions, args.source, args.time_limit, args.jobs, args.max_output,
                            args.max_file_mb, feedback=args.feedback)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    write_csv(rows, args.out)
    graded = [r for r in rows if r.assignment]
    print(f"graded {len(rows)} submission(s) → {args.out}")
    if graded:
        mean_s = sum(r.seconds for r in graded) / len(graded)
        print(f"mean grading time {mean_s:.1f} s per submission; "
              f"{sum(r.status != 'ok' for r in rows)} with problems (see the status and errors columns)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
