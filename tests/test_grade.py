"""Grading a class: python -m vae_course.grade (the parts that need no sandbox).

* every assignment (solutions, generated exercises, deliberately wrong answers) goes through the
  grader's pipeline (rebuild, answers harvested as data, verdicts computed here), its cells run in
  a thread of this process (fast); the sandboxed runs and the attacks are in test_grade_sandbox.py;
* the wire format, the gradebook (journal, resume, formula injection), the reading of the
  submissions (symlinks, duplicates) and the command line's refusals.
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

from vae_course import assign, grade, grading, wire
from vae_course.sandbox import LocalWorker

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


def problems(row):
    """The row's errors other than notes (a note does not change the status)."""
    return [e for e in row.errors if not e.startswith("note:")]


def score_in_process(nb, name):
    """The grader's whole pipeline (rebuild, harvest as data, verdicts here), the cells run in a thread
    of this process (LocalWorker: for the course's own trusted notebooks; fast)."""
    sub = grade.Submission(Path(f"{name}.ipynb"), f"{name}.ipynb", nbformat.writes(nb).encode())
    return grade.grade_submission(sub, Path("."), ASSIGNMENTS, LocalWorker(), grade.Options())


@pytest.mark.parametrize("name", NAMES)
def test_solutions_full_marks_exercises_zero_wrong_answers_lose_exactly_theirs(name):
    assignment = ASSIGNMENTS[name]
    solved = nbformat.read(SOLUTIONS / f"{name}.ipynb", as_version=4)
    row = score_in_process(solved, name)
    assert row.points == assignment.questions and row.status == "ok" and problems(row) == []

    row = score_in_process(nbformat.read(EXERCISES / f"{name}.ipynb", as_version=4), name)
    assert row.total == 0 and row.status == "ok" and problems(row) == [], row.errors   # runs, scores 0
    # neither was written for a student (no variant in its metadata): the grader says so, without a penalty
    assert all(e.startswith("note: this notebook carries no student variant") for e in row.errors)

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


# ----------------------------------------------------------------------------- the wire format

def test_values_cross_as_data_and_come_back_equal():
    import numpy as np
    import sympy as sp
    import torch
    from vae_course.symbolic import mu1, sigma1
    value = {"a": (1, 2.5, None, True, "x", ...), 3: [np.arange(4.0), np.float32(1.5), torch.ones(2, 3)],
             "e": sp.Rational(1, 2) * sigma1**2 + sp.exp(mu1) - sp.pi, "g": torch.Generator().manual_seed(3)}
    back = wire.decode(wire.loads(wire.dumps(wire.encode(value))), untrusted=True)
    assert back["a"] == (1, 2.5, None, True, "x", ...) and isinstance(back["a"][4], wire.StudentText)
    assert np.array_equal(back[3][0], np.arange(4.0)) and back[3][1] == np.float32(1.5)
    assert back[3][1].dtype == np.float32 and torch.equal(back[3][2], torch.ones(2, 3))
    assert sp.simplify(back["e"] - value["e"]) == 0 and back["e"].free_symbols == {mu1, sigma1}
    assert torch.equal(torch.randn(3, generator=back["g"]), torch.randn(3, generator=torch.Generator().manual_seed(3)))


def test_no_objects_cross_and_student_text_is_never_parsed():
    import pickle
    import sympy as sp

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))
    with pytest.raises(wire.WireError):
        wire.encode(Evil())
    with pytest.raises(wire.WireError):              # a pickle with a global: refused by weights_only
        wire.loads(pickle.dumps(Evil()))
    with pytest.raises(wire.WireError):
        wire.decode({"__t__": "callable", "id": 0})  # no function stand-in where none is expected
    with pytest.raises(wire.WireError):
        wire.decode({"__t__": "sympy", "v": ["eval", "1"]})
    text = wire.decode("__import__('os').system('touch /tmp/x')", untrusted=True)
    with pytest.raises(sp.SympifyError):
        sp.sympify(text)
    with pytest.raises(sp.SympifyError):
        sp.sympify({"k": text})


def test_remote_function_and_autograd_bridge_in_process():
    import torch
    src = "def f(x, w):\n    return (x * w).sum(), x.detach() * 2\n"
    with LocalWorker().session() as session:
        report, values = session.run([(0, src)], [("q", "f")], 10, 1000)
        x = torch.tensor([1.0, -2.0], requires_grad=True)
        total, doubled = values["q"](x, torch.tensor([3.0, 4.0]))
        total.backward()
        assert float(total) == -5.0 and torch.equal(doubled, torch.tensor([2.0, -4.0]))
        assert torch.equal(x.grad, torch.tensor([3.0, 4.0]))            # computed in the runner, sent back
        jac = torch.autograd.functional.jacobian(lambda a: values["q"](a, torch.ones(2))[0], torch.zeros(2))
        assert torch.equal(jac, torch.ones(2))


# ----------------------------------------------------------------------------- gradebook and submissions

def row(file, student="s", assignment="a", total=1.0, status="ok", errors=()):
    return grade.Row(file=file, student=student, assignment=assignment, points={"q": total}, total=total,
                     max_total=1.0, status=status, errors=list(errors), sha256="x")


def test_gradebook_survives_and_neutralises_formulas(tmp_path):
    out = tmp_path / "grades.csv"
    book = grade.Gradebook(out, ["q"])
    book.record(row("=HYPERLINK(1)_a.ipynb", student="=HYPERLINK(1)", errors=["@SUM(A1)", "+1", "-2"]))
    book.record(row("b_a.ipynb", student="b"))
    table = read_rows(out)                           # written after each row, not at the end
    assert table["'=HYPERLINK(1)_a.ipynb"]["student"] == "'=HYPERLINK(1)"
    assert table["'=HYPERLINK(1)_a.ipynb"]["errors"] == "'@SUM(A1); +1; -2"
    assert table["b_a.ipynb"]["q"] == "1" and table["b_a.ipynb"]["total"] == "1"
    with open(book.journal, "a") as fh:
        fh.write('{"file": "torn')                    # a line cut by a kill
    again = grade.Gradebook(out, ["q"])
    assert again.done("b_a.ipynb", "x") is not None and again.done("b_a.ipynb", "changed") is None
    assert set(again.rows) == {"=HYPERLINK(1)_a.ipynb", "b_a.ipynb"}


def test_unwritable_out_is_refused_before_grading(tmp_path):
    with pytest.raises(FileNotFoundError):
        grade.Gradebook(tmp_path / "missing" / "grades.csv")
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(PermissionError):
        grade.Gradebook(tmp_path / "dir.csv")


def test_submissions_are_read_first_symlinks_refused_duplicates_flagged(tmp_path):
    (tmp_path / "bob").mkdir()
    (tmp_path / "alice_01_entropy_and_kl.ipynb").write_text("{}")
    (tmp_path / "bob" / "01_entropy_and_kl.ipynb").write_text("{}")
    (tmp_path / "link_01_entropy_and_kl.ipynb").symlink_to(tmp_path / "alice_01_entropy_and_kl.ipynb")
    (tmp_path / "linkdir").symlink_to(tmp_path / "bob")
    subs = {s.rel: s for s in grade.read_submissions(tmp_path)}
    assert subs["alice_01_entropy_and_kl.ipynb"].data == b"{}" and subs["bob/01_entropy_and_kl.ipynb"].data == b"{}"
    assert subs["link_01_entropy_and_kl.ipynb"].problem == "symlink refused"
    assert subs["linkdir"].problem == "symlink refused" and subs["link_01_entropy_and_kl.ipynb"].data is None
    rows = [row("alice_x.ipynb", "alice"), row("alice/x.ipynb", "alice"), row("bob_x.ipynb", "bob")]
    grade._flag_duplicates(rows)
    assert [r.status for r in rows] == ["ok; duplicate", "ok; duplicate", "ok"]
    assert "alice also handed in alice/x.ipynb" in rows[0].errors[-1]


@pytest.mark.parametrize("flags", [["--time-limit", "0"], ["--time-limit", "-5"], ["--time-limit", "nan"],
                                   ["--time-limit", "inf"], ["--jobs", "0"], ["--max-output", "-1"],
                                   ["--max-file-mb", "-3"], ["--memory-mb", "-1"], ["--max-procs", "0"]])
def test_bad_command_lines_are_refused_up_front(tmp_path, flags, capsys):
    with pytest.raises(SystemExit) as exc:
        grade.main([str(tmp_path), "--out", str(tmp_path / "g.csv"), *flags])
    assert exc.value.code == 2 and flags[0] in capsys.readouterr().err
    assert not (tmp_path / "g.csv").exists()


def test_without_bubblewrap_the_grader_refuses_unless_told(tmp_path, monkeypatch, capsys):
    from vae_course import sandbox
    monkeypatch.setattr(sandbox, "bwrap_problem", lambda: "bubblewrap (bwrap) is not installed")
    assert grade.main([str(tmp_path), "--out", str(tmp_path / "g.csv")]) == 2
    err = capsys.readouterr().err
    assert "bwrap" in err and "--no-sandbox" in err


def read_rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return {r["file"]: r for r in csv.DictReader(fh)}
