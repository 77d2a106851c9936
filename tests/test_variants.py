"""Per-student variants: each student's own numbers in every by-hand question, graded against their own.

* the draws are deterministic, pinned (a Python or NumPy upgrade must not change a student's numbers),
  case-insensitive in the student id, and differ between students;
* ``python -m vae_course.assign --roster`` writes DIR/<student>/<assignment>.ipynb with the numbers in
  the text, refuses bad rosters by row, and leaves exercises/ as it is;
* for every by-hand question of every exercise: the solution code earns full marks under any student's
  id, and a classmate's numbers typed in earn nothing (in-process: the grader's evaluate and hidden tests);
* the class grader (sandbox) checks each submission against the student its file name names.
"""
import ast
import contextlib
import csv
import io
import json
import math
import re
import sys

import nbformat
import pytest

from vae_course import assign, checks, grade, grading, variants
from vae_course.checks import params
from vae_course.sandbox import bwrap_problem

SOLUTIONS, EXERCISES = assign.default_dirs()
NOTEBOOKS = {p.stem: nbformat.read(p, as_version=4) for p in sorted(SOLUTIONS.glob("*.ipynb"))}
VARIED = {name: assign.variant_questions(nb) for name, nb in NOTEBOOKS.items()}
ALL_VARIED = [(name, qid) for name, qids in VARIED.items() for qid in qids]
STUDENTS = [f"s{i:03d}" for i in range(40)]


def nbg(cell):
    return cell.metadata.get("nbgrader", {})


# ----------------------------------------------------------------------------- the draws

def test_draw_is_pinned_across_versions():
    """SHA-256 based: these numbers must never change (an instructor may grade on another machine)."""
    d = variants.Draw("vae-course/homework/alice")
    assert [d.integer(0, 999) for _ in range(4)] == [int.from_bytes(
        __import__("hashlib").sha256(f"vae-course/homework/alice/{n}".encode()).digest()[:8], "big") % 1000
        for n in range(1, 5)]
    assert dict(params("homework", "alice")) == {"mu": -2.0, "sigma": 3.0}
    assert dict(params("kl_by_hand", "alice")) == {"p": (0.85, 0.15), "q": (0.2, 0.8)}


def test_ids_compare_case_insensitively_and_strip():
    assert params("homework", "Alice ") == params("homework", "alice")


def test_every_exercise_with_by_hand_numbers_has_variants():
    """Every exercise has at least one by-hand question whose numbers differ per student."""
    assert all(VARIED.values()), {n: q for n, q in VARIED.items() if not q}


@pytest.mark.parametrize("name,qid", ALL_VARIED)
def test_variants_differ_between_students_and_the_default_is_fixed(name, qid):
    drawn = [json.dumps(params(qid, s), sort_keys=True, default=str) for s in STUDENTS]
    assert len(set(drawn)) >= 8, f"{qid}: only {len(set(drawn))} different variants among {len(STUDENTS)} students"
    assert params(qid, None) == checks.get(qid).variant.default
    assert params(qid, "alice") != params(qid, "bob")


@pytest.mark.parametrize("name,qid", ALL_VARIED)
def test_no_student_gets_the_public_numbers(name, qid):
    """exercises/ (the fixed variant) is public, and so may be its answers: no student draws its numbers."""
    default = json.dumps(params(qid, None), sort_keys=True, default=str)
    assert all(json.dumps(params(qid, f"id{i}"), sort_keys=True, default=str) != default for i in range(3000))


def test_params_are_read_only_and_name_what_is_missing():
    v = params("homework", "alice")
    with pytest.raises(TypeError):
        v["mu"] = 6
    with pytest.raises(AttributeError, match="mu, sigma"):
        v.nope


def test_questions_without_a_variant_refuse_params():
    with pytest.raises(KeyError, match="same numbers for everyone"):
        params("kl_code")


def test_use_and_of():
    assert variants.current() is None
    with variants.of("bob"):
        assert grading.params("homework") == params("homework", "bob")
        with variants.of(None):
            assert grading.params("homework") == params("homework", None)
    assert variants.current() is None
    with pytest.raises(ValueError, match="empty"):
        variants.use("  ")
    with pytest.raises(TypeError):
        variants.use(3)


def test_render_fills_placeholders_and_names_typos():
    assert checks.render("μ = {{homework.mu}}, σ = {{ homework.sigma }}", "alice") == "μ = -2, σ = 3"
    assert checks.render("p = {{kl_by_hand.p}}") == "p = (0.2, 0.8)"
    assert checks.render(r"$\frac{{a}}{b}$") == r"$\frac{{a}}{b}$"          # LaTeX braces are left alone
    with pytest.raises(ValueError, match="no number 'nu'"):
        checks.render("{{homework.nu}}")
    with pytest.raises(ValueError, match="no question 'homewrk'"):
        checks.render("{{homewrk.mu}}")
    with pytest.raises(ValueError, match="same numbers for everyone"):
        checks.render("{{kl_code.x}}")


# ----------------------------------------------------------------------------- the roster

def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_roster_bad_rows_are_named(tmp_path):
    with pytest.raises(ValueError, match="no 'student' column"):
        assign.read_roster(write(tmp_path / "a.csv", "name,email\nalice,a@x\n"))
    with pytest.raises(ValueError, match="row 3: student 'ALICE' is already on row 2"):
        assign.read_roster(write(tmp_path / "b.csv", "student\nalice\nALICE\n"))
    with pytest.raises(ValueError, match="row 2: student '../etc' is not a usable student id"):
        assign.read_roster(write(tmp_path / "c.csv", "student\n../etc\n"))
    with pytest.raises(ValueError, match="row 3: the student column is empty"):
        assign.read_roster(write(tmp_path / "d.csv", "student,email\nalice,a@x\n,b@x\n"))
    with pytest.raises(ValueError, match="lists no students"):
        assign.read_roster(write(tmp_path / "e.csv", "student\n\n"))
    (tmp_path / "f.csv").write_bytes(b"\xff\xfe\x00s")
    with pytest.raises(ValueError, match="not UTF-8"):
        assign.read_roster(tmp_path / "f.csv")
    # a spreadsheet's byte-order mark, another column, a blank line, spaces around ids: fine
    ok = write(tmp_path / "g.csv", "\ufeffStudent,email\n alice ,a@x\n\nbob.smith,b@x\n")
    assert assign.read_roster(ok) == ["alice", "bob.smith"]


def test_roster_writes_one_variant_per_student(tmp_path):
    roster = write(tmp_path / "roster.csv", "student\nalice\nbob\n")
    out = tmp_path / "out"
    assert assign.main(["--roster", str(roster), "--out", str(out)]) == 0
    for student in ("alice", "bob"):
        for name in NOTEBOOKS:
            nb = nbformat.read(out / student / f"{name}.ipynb", as_version=4)
            assert nb.metadata["vae_course"] == {"student": student}
            text = "\n".join(c.source for c in nb.cells)
            assert "{{" not in text and "BEGIN SOLUTION" not in text and "BEGIN HIDDEN" not in text
            assert f"grading.use_variant({student!r})" in text
            assert "colab.research.google.com/github" not in text      # the badge would open the fixed variant
            assert all(c.outputs == [] for c in nb.cells if c.cell_type == "code")
    a = nbformat.read(out / "alice" / "01_entropy_and_kl.ipynb", as_version=4)
    b = nbformat.read(out / "bob" / "01_entropy_and_kl.ipynb", as_version=4)
    assert r"$\mu = -2$" in a.cells[15].source                           # alice's μ, in the question's text
    assert [c.source for c in a.cells] != [c.source for c in b.cells]
    with open(out / "variants.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert {(r["student"], r["question"]) for r in rows} == {(s, q) for s in ("alice", "bob") for _, q in ALL_VARIED}
    hw = next(r for r in rows if r["student"] == "alice" and r["question"] == "homework")
    assert json.loads(hw["numbers"]) == {"mu": -2.0, "sigma": 3.0}
    assert assign.main(["--check"]) == 0          # exercises/ untouched, still the fixed variant


def test_roster_refusals_from_the_command_line(tmp_path, capsys):
    with pytest.raises(SystemExit):
        assign.main(["--roster", str(tmp_path / "r.csv")])            # --out missing
    assert assign.main(["--roster", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "o")]) == 2
    assert "missing.csv" in capsys.readouterr().err
    bad = write(tmp_path / "bad.csv", "student\nalice\nal ice\n")
    assert assign.main(["--roster", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "row 3" in capsys.readouterr().err


def test_the_exercises_keep_the_fixed_numbers():
    nb = nbformat.read(EXERCISES / "01_entropy_and_kl.ipynb", as_version=4)
    text = "\n".join(c.source for c in nb.cells)
    assert "vae_course" not in nb.metadata and "use_variant" not in text
    assert r"$\mu = 3$" in text and "(0.6, 0.25, 0.15)" in text
    assert "\\mu = 6" not in text                      # the lecture's numbers are not the exercise's


# ----------------------------------------------------------------------------- every by-hand question, in process

def _answer_and_check_cells(nb, qid):
    cells = {nbg(c).get("grade_id"): c for c in nb.cells}
    return cells[f"{qid}_answer"], cells[qid]


def solution_value(name, qid, student):
    """Run the setup cell and the question's solution cell under ``student``'s numbers; the answer."""
    nb = NOTEBOOKS[name]
    answer_cell, check_cell = _answer_and_check_cells(nb, qid)
    expr = grade._answer_exprs(check_cell.source)[qid]
    setup = next(c for c in nb.cells if nbg(c).get("grade_id") == "setup")
    ns = {"__name__": "__main__"}
    with variants.of(student), contextlib.redirect_stdout(io.StringIO()):
        exec(compile(setup.source, "<setup>", "exec"), ns)             # noqa: S102 - the course's own notebook
        exec(compile(answer_cell.source.replace("print(", "(lambda *a, **k: None)("), "<answer>", "exec"), ns)  # noqa: S102
        return eval(expr, ns)                                           # noqa: S307


ASSIGNMENTS = grade.load_assignments(SOLUTIONS)


def score(name, qid, value, student):
    with variants.of(student):
        hidden = ASSIGNMENTS[name].hidden_checks()
        return grading.evaluate(qid, value, hidden.get(qid, {}))


@pytest.mark.parametrize("name,qid", ALL_VARIED)
def test_solution_code_full_marks_for_anyone_copied_numbers_none(name, qid):
    points = ASSIGNMENTS[name].questions[qid]
    values = {}
    for student in ("alice", "bob", None):
        values[student] = solution_value(name, qid, student)
        s = score(name, qid, values[student], student)
        assert float(s) == points, (student, s.details)
        assert all(c["passed"] for c in s.details["checks"]), s.details   # hidden checks included
    # alice's answer typed into bob's notebook, and the fixed variant's into alice's: no point
    assert float(score(name, qid, values["alice"], "bob")) == 0.0
    assert float(score(name, qid, values[None], "alice")) == 0.0


@pytest.mark.parametrize("name,qid", ALL_VARIED)
def test_the_right_answer_passes_for_every_student_of_a_class(name, qid):
    """No draw makes a hint fire on the right answer (e.g. KL(p‖q) = KL(q‖p) for mirror pairs, which once
    made the "swapped" hint reject the right pair): 40 students, public and hidden checks."""
    points = ASSIGNMENTS[name].questions[qid]
    for student in STUDENTS:
        s = score(name, qid, solution_value(name, qid, student), student)
        assert float(s) == points, (student, dict(params(qid, student)),
                                    [c for c in s.details["checks"] if not c["passed"]])


@pytest.mark.parametrize("name,qid", ALL_VARIED)
def test_by_hand_solution_cells_use_params_not_literals(name, qid):
    """A solution that computes from grading.params earns marks under any id; a literal would not."""
    answer_cell, _ = _answer_and_check_cells(NOTEBOOKS[name], qid)
    assert f'grading.params("{qid}")' in answer_cell.source


@pytest.mark.parametrize("name,qid", ALL_VARIED)
def test_question_text_shows_the_numbers(name, qid):
    """The question's Markdown names its numbers with placeholders (so each student reads their own)."""
    nb = NOTEBOOKS[name]
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert re.search(r"\{\{\s*" + qid + r"\.", text), f"{qid}: no {{{{{qid}.…}}}} in the notebook's text"


def test_check_names_do_not_give_away_the_answer():
    """A check's name is shown to the student: it must not carry a variant's answer."""
    for qid, q in checks.varied_questions().items():
        for c in q.checks:
            assert not re.search(r"≈\s*-?\d", c.name), (qid, c.name)


# ----------------------------------------------------------------------------- the class grader, sandboxed

needs_bwrap = pytest.mark.skipif(sys.platform != "linux" or bwrap_problem() is not None,
                                 reason="needs bubblewrap on Linux")

HW = "01_entropy_and_kl"


def with_answers(nb, literals: dict):
    """``nb`` with the by-hand answer cells replaced by literal numbers (a student's typed answers)."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    for cell in nb.cells:
        qid = nbg(cell).get("grade_id", "").removesuffix("_answer")
        if nbg(cell).get("solution") and qid in literals:
            var = grade._answer_exprs(_answer_and_check_cells(NOTEBOOKS[HW], qid)[1].source)[qid]
            cell.source = f"{var} = {literals[qid]!r}"
    return nb


@needs_bwrap
def test_the_grader_checks_each_student_against_their_own_numbers(tmp_path):
    solved = NOTEBOOKS[HW]
    qids = VARIED[HW]
    typed = {s: {q: solution_value(HW, q, s) for q in qids} for s in ("alice", "bob", "carol")}
    subs = tmp_path / "submitted"
    # alice types her own numbers' answers; bob copies alice's; carol's notebook runs the solution code;
    # dave hands in alice's notebook (written for alice) under his own name
    for student, nb in {
        "alice": with_answers(assign.make_exercise(solved, "alice", keep_solutions=True), typed["alice"]),
        "bob": with_answers(assign.make_exercise(solved, "bob", keep_solutions=True), typed["alice"]),
        "carol": assign.make_exercise(solved, "carol", keep_solutions=True),
        "dave": assign.make_exercise(solved, "alice", keep_solutions=True),
    }.items():
        (subs / student).mkdir(parents=True)
        nbformat.write(nb, subs / student / f"{HW}.ipynb")
    out = tmp_path / "grades.csv"
    assert grade.main([str(subs), "--out", str(out), "--jobs", "2", "--time-limit", "120"]) == 0
    with open(out, newline="", encoding="utf-8") as fh:
        rows = {r["student"]: r for r in csv.DictReader(fh)}
    full = ASSIGNMENTS[HW].max_total
    by_hand = sum(ASSIGNMENTS[HW].questions[q] for q in qids)
    assert float(rows["alice"]["total"]) == full and rows["alice"]["status"] == "ok"
    assert float(rows["carol"]["total"]) == full and rows["carol"]["status"] == "ok"
    assert float(rows["bob"]["total"]) == full - by_hand
    assert all(float(rows["bob"][q]) == 0 for q in qids)
    # dave ran the solution code in alice's notebook: the grader uses dave's numbers, and says so
    assert float(rows["dave"]["total"]) == full and rows["dave"]["status"] == "ok"
    assert "written for student 'alice'" in rows["dave"]["errors"]
    # the same class graded against the fixed numbers: the typed answers are wrong for everyone
    out2 = tmp_path / "fixed.csv"
    assert grade.main([str(subs), "--out", str(out2), "--variants", "fixed", "--time-limit", "120"]) == 0
    with open(out2, newline="", encoding="utf-8") as fh:
        fixed = {r["student"]: r for r in csv.DictReader(fh)}
    assert float(fixed["alice"]["total"]) == full - by_hand and float(fixed["carol"]["total"]) == full


# ----------------------------------------------------------------------------- the fixed variant is not in the lectures

def _lecture_text() -> str:
    parts = []
    for path in sorted((SOLUTIONS.parent / "notebooks").glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            parts.append(cell.source)
            for out in cell.get("outputs", []):
                parts.append(str(out.get("text", "")))
                parts.append(str(out.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


LECTURES = _lecture_text()


def _numbers(value):
    if isinstance(value, (tuple, list)):
        return [x for v in value for x in _numbers(v)]
    if hasattr(value, "tolist"):
        return _numbers(value.tolist())
    return [float(value)] if isinstance(value, (int, float)) and not isinstance(value, bool) else []


@pytest.mark.parametrize("name,qid", ALL_VARIED)
def test_the_fixed_answer_is_not_printed_in_any_lecture(name, qid):
    """exercises/' answer to a by-hand question cannot be copied from a lecture: no lecture shows it to
    3 decimals or 4 significant digits (numbers of one or two digits, like 14 or 5.5, are too common to
    test this way)."""
    for x in _numbers(solution_value(name, qid, None)):
        if math.isfinite(x) and float(f"{x:.2g}") != x:
            for text in {f"{x:.3f}", f"{x:.4g}"}:
                found = re.search(r"(?<![\d.])" + re.escape(text), LECTURES)    # more digits after it: the same number
                assert not found, f"{qid}: its fixed answer {x} appears in a lecture as {text}"
