"""Grading a class: python -m vae_course.grade.

Two layers, to keep this file fast:
* every assignment (solutions, generated exercises, deliberately wrong answers) is scored by
  running its cells in this process, through the same rebuild (hidden tests injected) and the
  same scoring code the grader uses;
* the real grader (a worker process and a kernel per notebook) runs on one real assignment
  and on a tiny one carrying the fault cases: raising, looping forever, printing megabytes,
  writing outside its folder, killing its kernel, unreadable and unknown files.
"""
import ast
import contextlib
import csv
import io
import json
import re
import tempfile
import uuid
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell

from vae_course import assign, grade, grading

SOLUTIONS, EXERCISES = assign.default_dirs()
ASSIGNMENTS = grade.load_assignments(SOLUTIONS)
NAMES = sorted(ASSIGNMENTS)


def nbg(cell):
    return cell.metadata.get("nbgrader", {})


def wrong_version(nb, wrong_qids):
    """Each listed question answered with NaN: a value that fails every check, public or hidden."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    for cell in nb.cells:
        if nbg(cell).get("solution") and nbg(cell)["grade_id"].removesuffix("_answer") in wrong_qids:
            stub = assign.strip_source(cell.source)
            stub = re.sub(r"^(\w+) = \.\.\.$", r'\1 = float("nan")', stub, flags=re.M)
            cell.source = re.sub(r"^(\s+)\.\.\.$", r'\1return float("nan")', stub, flags=re.M)
    return nb


def score_in_process(nb, name):
    """Rebuild like the grader, run the cells here, score with the grader's own parser."""
    assignment = ASSIGNMENTS[name]
    graded = grade.build_graded_notebook(nb, assignment)
    grading._HIDDEN.clear()
    ns, lines = {"__name__": "__main__"}, []
    for cell in graded.cells:
        if cell.cell_type != "code":
            continue
        tree = ast.parse(cell.source)
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        value, error = None, None
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(tree, name, "exec"), ns)
                if last is not None:
                    value = eval(compile(ast.Expression(last.value), name, "eval"), ns)
        except Exception as exc:  # noqa: BLE001
            error = f"{type(exc).__name__}: {exc}"
        if nbg(cell).get("grade"):
            score = value.details if isinstance(value, grading.Score) else None
            lines.append(json.dumps({"grade_id": nbg(cell)["grade_id"], "ran": True, "error": error, "score": score}))
        elif error:
            lines.append(json.dumps({"grade_id": "-", "ran": True, "error": error}))
            raise AssertionError(f"{name}: a non-check cell raised {error}")
    lines.append(json.dumps({"summary": True, "status": "ok", "detail": "", "truncated": False}))
    row = grade.Row(file=name, student="x", assignment=name, max_total=assignment.max_total,
                    points={q: 0.0 for q in assignment.questions})
    grade._score(row, "\n".join(lines), "", assignment)
    grading._HIDDEN.clear()
    return row


@pytest.mark.parametrize("name", NAMES)
def test_solutions_full_marks_exercises_zero_wrong_answers_lose_exactly_theirs(name):
    assignment = ASSIGNMENTS[name]
    solved = nbformat.read(SOLUTIONS / f"{name}.ipynb", as_version=4)
    row = score_in_process(solved, name)
    assert row.points == assignment.questions and row.status == "ok" and row.errors == []

    row = score_in_process(nbformat.read(EXERCISES / f"{name}.ipynb", as_version=4), name)
    assert row.total == 0 and row.status == "ok" and row.errors == [], row.errors   # runs, scores 0

    qids = list(assignment.questions)
    for wrong in (qids[0::2], qids[1::2]):
        row = score_in_process(wrong_version(solved, set(wrong)), name)
        expected = {q: 0.0 if q in wrong else p for q, p in assignment.questions.items()}
        assert row.points == expected, (wrong, row.points)
        assert row.total == assignment.max_total - sum(assignment.questions[q] for q in wrong)


def test_edited_and_deleted_check_cells_are_restored_with_hidden_tests():
    solved = nbformat.read(SOLUTIONS / "01_entropy_and_kl.ipynb", as_version=4)
    student = nbformat.read(EXERCISES / "01_entropy_and_kl.ipynb", as_version=4)
    cells = {nbg(c).get("grade_id"): c for c in student.cells}
    cells["entropy_by_hand"].source = 'grading.check("entropy_by_hand", 1.75)'      # tampered
    student.cells.remove(cells["kl_by_hand"])                                      # deleted
    student.cells.insert(3, new_code_cell("scratch = 1"))                            # the student's own cell
    rebuilt = grade.build_graded_notebook(student, ASSIGNMENTS["01_entropy_and_kl"])
    by_id = {nbg(c).get("grade_id"): (i, c) for i, c in enumerate(rebuilt.cells)}
    original = {nbg(c).get("grade_id"): c for c in solved.cells}
    for qid in ("entropy_by_hand", "kl_by_hand"):
        assert by_id[qid][1].source == original[qid].source and "grading.hidden" in by_id[qid][1].source
    assert by_id["kl_by_hand"][0] == by_id["kl_by_hand_answer"][0] + 1           # back in its place
    assert any(c.source == "scratch = 1" for c in rebuilt.cells)
    assert by_id["kl_code_answer"][1].source == cells["kl_code_answer"].source     # answers are the student's


def test_student_ids_and_assignment_matching(tmp_path):
    a = ASSIGNMENTS["04_reparameterization"]
    assert grade.student_id(tmp_path / "alice_04_reparameterization.ipynb", tmp_path, a.name) == "alice"
    assert grade.student_id(tmp_path / "04_reparameterization-bob.ipynb", tmp_path, a.name) == "bob"
    assert grade.student_id(tmp_path / "carol" / "04_reparameterization.ipynb", tmp_path, a.name) == "carol"
    nb = nbformat.read(EXERCISES / "04_reparameterization.ipynb", as_version=4)
    assert grade.match_assignment(nb, Path("whatever.ipynb"), ASSIGNMENTS) is a
    plain = nbformat.v4.new_notebook(cells=[new_code_cell("1")])
    assert grade.match_assignment(plain, Path("dave_04_reparameterization.ipynb"), ASSIGNMENTS) is a
    assert grade.match_assignment(plain, Path("notes.ipynb"), ASSIGNMENTS) is None


def test_missing_folder_is_a_clear_error(tmp_path, capsys):
    assert grade.main([str(tmp_path / "nope"), "--out", str(tmp_path / "g.csv")]) == 2
    assert "does not exist" in capsys.readouterr().err


# ----------------------------------------------------------------------------- the real grader

def read_rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return {r["file"]: r for r in csv.DictReader(fh)}


def test_cli_grades_real_submissions_in_their_own_processes(tmp_path, capsys):
    subs = tmp_path / "submissions"
    (subs / "carol").mkdir(parents=True)
    solved = nbformat.read(SOLUTIONS / "04_reparameterization.ipynb", as_version=4)
    nbformat.write(solved, subs / "alice_04_reparameterization.ipynb")
    nbformat.write(wrong_version(solved, {"reparam_by_hand"}), subs / "carol" / "04_reparameterization.ipynb")
    out = tmp_path / "grades.csv"
    assert grade.main([str(subs), "--out", str(out), "--time-limit", "180", "--jobs", "2",
                       "--feedback", str(tmp_path / "feedback")]) == 0
    rows = read_rows(out)
    alice, carol = rows["alice_04_reparameterization.ipynb"], rows["carol/04_reparameterization.ipynb"]
    assert (alice["student"], alice["total"], alice["max_total"], alice["status"]) == ("alice", "6", "6", "ok")
    assert (alice["reparam_code"], alice["reparam_by_hand"], alice["reparam_gradient"]) == ("3", "1", "2")
    assert (carol["student"], carol["reparam_by_hand"], carol["total"]) == ("carol", "0", "5")
    assert all(float(r["seconds"]) > 0 for r in rows.values())
    assert "mean grading time" in capsys.readouterr().out
    returned = nbformat.read(tmp_path / "feedback" / "carol" / "04_reparameterization.ipynb", as_version=4)
    text = nbformat.writes(returned)
    assert "✘ z = (1, -1)" in text and "(hidden)" in text and "points: 0 / 1" in text
    assert "HIDDEN TESTS" not in text and "grading.hidden" not in text      # the hidden code stays hidden


TINY_SOURCE = [
    new_code_cell("from vae_course import grading", metadata={"nbgrader": {
        "grade": False, "grade_id": "setup", "locked": True, "schema_version": 3, "solution": False, "task": False}}),
    new_code_cell("### BEGIN SOLUTION\nH_bits = 1.75\n### END SOLUTION", metadata={"nbgrader": {
        "grade": False, "grade_id": "entropy_by_hand_answer", "locked": False, "schema_version": 3,
        "solution": True, "task": False}}),
    new_code_cell('### BEGIN HIDDEN TESTS\ngrading.hidden("entropy_by_hand", "positive", lambda a: float(a) > 0)\n'
                  '### END HIDDEN TESTS\ngrading.check("entropy_by_hand", H_bits)', metadata={"nbgrader": {
                      "grade": True, "grade_id": "entropy_by_hand", "locked": True, "points": 1,
                      "schema_version": 3, "solution": False, "task": False}}),
]


def tiny(answer="H_bits = 1.75", before_check="", after_check=""):
    cells = [nbformat.from_dict(json.loads(json.dumps(c))) for c in TINY_SOURCE]
    cells[1].source = answer
    extra_before = [new_code_cell(before_check)] if before_check else []
    extra_after = [new_code_cell(after_check)] if after_check else []
    return nbformat.v4.new_notebook(cells=cells[:2] + extra_before + cells[2:] + extra_after)


def test_faulty_submissions_cannot_stop_the_others_or_damage_the_grader(tmp_path, monkeypatch):
    source, subs, scratch = tmp_path / "source", tmp_path / "subs", tmp_path / "scratch"
    for d in (source, subs, scratch):
        d.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    nbformat.write(nbformat.v4.new_notebook(cells=TINY_SOURCE), source / "tiny.ipynb")
    marker = f"escape-{uuid.uuid4().hex}.txt"
    cases = {   # each process is slow to start, so one notebook carries two faults where they don't interact
        "good": tiny(),
        "loops": tiny(after_check="while True:\n    pass"),
        "raises-then-dies": tiny(answer="H_bits = 1 / 0", after_check="import os\nos._exit(1)"),
        "floods-and-escapes": tiny(before_check=(
            'print("x" * 5_000_000)\nfor _ in range(100):\n    print("y" * 10_000)\n'
            f"import os\nfor p in ('~/{marker}', '../../{marker}'):\n    open(os.path.expanduser(p), 'w').write('x')")),
    }
    for name, nb in cases.items():
        nbformat.write(nb, subs / f"{name}_tiny.ipynb")
    (subs / "broken_tiny.ipynb").write_text("this is not a notebook")
    nbformat.write(nbformat.v4.new_notebook(cells=[new_code_cell("1 + 1")]), subs / "notes.ipynb")
    before = {p.name: p.read_bytes() for p in subs.iterdir()}

    rows = {r.file.split("_")[0].removesuffix(".ipynb"): r for r in grade.grade_folder(
        subs, source, time_limit=15, jobs=2, max_output=100_000, progress=False)}
    assert len(rows) == 6, rows
    print({k: (r.total, r.status, r.errors, r.seconds) for k, r in rows.items()})   # shown when a check fails
    assert (rows["good"].total, rows["good"].status, rows["good"].errors) == (1.0, "ok", [])
    assert rows["loops"].total == 1 and rows["loops"].status == "timeout"        # scored up to the time limit
    bad = rows["raises-then-dies"]
    assert bad.total == 0 and bad.status == "crashed"
    assert bad.errors[0].startswith("cell 1: ZeroDivisionError") and "entropy_by_hand: NameError" in bad.errors[1]
    assert "the kernel died" in bad.errors[-1]
    loud = rows["floods-and-escapes"]
    assert loud.total == 1 and loud.errors == ["output truncated"]
    assert rows["broken"].status == "unreadable" and rows["notes"].status == "unknown assignment"
    # nothing escaped into the real home, the scratch space is gone, the submissions are untouched
    assert not (Path.home() / marker).exists()
    assert list(scratch.iterdir()) == []
    assert before == {p.name: p.read_bytes() for p in subs.iterdir()}

    out = tmp_path / "grades.csv"
    grade.write_csv(list(rows.values()), out)
    table = read_rows(out)
    assert table["loops_tiny.ipynb"]["status"] == "timeout" and table["notes.ipynb"]["entropy_by_hand"] == ""
