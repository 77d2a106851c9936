"""solutions/ is the one source: exercises/ must be exactly what `python -m vae_course.assign` writes."""
import ast
import re

import nbformat
import pytest

from vae_course import assign
from vae_course.checks import all_questions

SOLUTIONS, EXERCISES = assign.default_dirs()
NOTEBOOKS = sorted(SOLUTIONS.glob("*.ipynb"))
CHECK_CALL = re.compile(r'grading\.check\("([\w-]+)",')


def nbg(cell):
    return cell.metadata.get("nbgrader", {})


def test_committed_exercises_are_the_generators_output():
    problems = assign.generate(SOLUTIONS, EXERCISES, check=True)
    assert problems == [], "run `python -m vae_course.assign` and commit exercises/:\n" + "\n".join(problems)


def test_check_mode_reports_a_hand_edited_exercise(tmp_path):
    assign.generate(SOLUTIONS, tmp_path)
    assert assign.generate(SOLUTIONS, tmp_path, check=True) == []
    path = tmp_path / NOTEBOOKS[0].name
    path.write_text(path.read_text().replace("YOUR CODE HERE", "my answer"))
    (tmp_path / "99_stale.ipynb").write_text("{}")
    problems = assign.generate(SOLUTIONS, tmp_path, check=True)
    assert len(problems) == 2 and "differs" in problems[0] and "no source" in problems[1]
    assert assign.main(["--source", str(SOLUTIONS), "--dest", str(tmp_path), "--check"]) == 1


def test_solution_region_at_top_level_becomes_name_equals_ellipsis():
    src = "x = 1\n### BEGIN SOLUTION\nanswer = 2 * x\na, b = 1, 2\n### END SOLUTION\nprint(answer)"
    out = assign.strip_source(src)
    assert out == "x = 1\n# YOUR CODE HERE\nanswer = ...\na = ...\nb = ...\nprint(answer)"
    exec(compile(out, "<stub>", "exec"), {})          # the stub runs


def test_solution_region_in_a_function_becomes_a_body_that_returns_none():
    src = "def f(p):\n    ### BEGIN SOLUTION\n    q = p + 1\n    return q\n    ### END SOLUTION"
    out = assign.strip_source(src)
    assert out == "def f(p):\n    # YOUR CODE HERE\n    ..."
    ns = {}
    exec(out, ns)
    assert ns["f"](1) is None


def test_hidden_tests_are_removed_and_markdown_answers_blanked():
    src = "### BEGIN HIDDEN TESTS\nsecret()\n### END HIDDEN TESTS\ngrading.check('q', a)"
    assert assign.strip_source(src) == "grading.check('q', a)"
    assert assign.strip_source("Why?\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION", markdown=True) == "Why?\nYOUR ANSWER HERE"


@pytest.mark.parametrize("src", ["### BEGIN SOLUTION\nx = 1", "x = 1\n### END SOLUTION",
                                 "### BEGIN SOLUTION\n### BEGIN HIDDEN TESTS\n### END HIDDEN TESTS\n### END SOLUTION"])
def test_unbalanced_markers_are_a_clear_error(src):
    with pytest.raises(ValueError, match="END|unexpected"):
        assign.strip_source(src)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_exercise_has_no_solutions_hidden_tests_or_outputs(path):
    ex = nbformat.read(EXERCISES / path.name, as_version=4)
    text = nbformat.writes(ex)
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN", "grading.hidden"):
        assert marker not in text
    assert all(not c.outputs and c.execution_count is None for c in ex.cells if c.cell_type == "code")
    for cell in ex.cells:
        if cell.cell_type == "code":
            ast.parse(cell.source)       # every cell is valid Python


def test_solutions_are_nbgrader_notebooks_in_lecture_order():
    questions = all_questions()
    seen_ids, seen_qids = set(), []
    assert [p.stem[:2] for p in NOTEBOOKS] == sorted(p.stem[:2] for p in NOTEBOOKS)
    assert len(NOTEBOOKS) >= 6
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        ids = [nbg(c)["grade_id"] for c in nb.cells if nbg(c)]
        assert len(ids) == len(set(ids)), f"{path.name}: duplicate grade_id"
        tests = [c for c in nb.cells if nbg(c).get("grade")]
        assert 3 <= len(tests) <= 8, f"{path.name}: {len(tests)} questions"
        for cell in nb.cells:
            meta = nbg(cell)
            if not meta:
                continue
            assert meta["schema_version"] == 3 and {"grade", "solution", "locked", "grade_id"} <= set(meta)
            if meta["solution"]:
                assert "### BEGIN SOLUTION" in cell.source and not meta["locked"]
            if meta["grade"]:
                qid = meta["grade_id"]
                assert meta["locked"] and not meta["solution"]
                assert CHECK_CALL.findall(cell.source) == [qid], f"{qid}: the check cell must check itself"
                assert qid in questions and meta["points"] == questions[qid].points
                assert "### BEGIN HIDDEN TESTS" in cell.source, f"{qid}: no hidden tests"
                seen_qids.append(qid)
        seen_ids |= set(ids) - {"setup"}
    assert len(seen_qids) == len(set(seen_qids))          # a question lives in one notebook
    assert set(seen_qids) == set(questions)               # and every registered question is used


def test_the_required_topics_are_covered():
    qids = set(all_questions())
    for required in ("entropy_by_hand", "kl_by_hand", "kl_code", "gauss_kl_code", "homework", "sympy_step",
                     "elbo_value", "elbo_gap", "reparam_code", "vae_loss_code", "conv_shapes", "slerp_code",
                     "active_units_code"):
        assert required in qids
