"""The grader against a hostile class: each attack of issue 15 as a submission, graded in bubblewrap.

One grading run (two workers, ``--jobs 2``) carries all the attacks beside honest submissions, so
the sandbox starts only twice; a second test kills the grader with SIGKILL and resumes. The
assertions: forgeries score 0, honest neighbours keep full marks, nothing outside the sandbox
changed, no process outlived the grader. They need bubblewrap (installed in CI by .ci/run);
elsewhere they are skipped with the reason.
"""
import csv
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell

from vae_course import grade
from vae_course.sandbox import bwrap_problem

pytestmark = pytest.mark.skipif(sys.platform != "linux" or bwrap_problem() is not None,
                                reason=f"needs bubblewrap on Linux: {bwrap_problem() if sys.platform == 'linux' else 'not Linux'}")

ROOT = Path(__file__).resolve().parent.parent
NBG = {"schema_version": 3, "task": False}
SETUP = new_code_cell("from vae_course import grading\nimport numpy as np",
                      metadata={"nbgrader": {**NBG, "grade": False, "grade_id": "setup", "locked": True, "solution": False}})


def answer_cell(src):
    return new_code_cell(src, metadata={"nbgrader": {**NBG, "grade": False, "grade_id": "kl_code_answer",
                                                     "locked": False, "solution": True}})


CHECK = new_code_cell('### BEGIN HIDDEN TESTS\nHIDDEN_SECRET = "hidden-7f3a"\n'
                      'grading.hidden("kl_code", "KL(p‖p) = 0 at 3 outcomes", '
                      'lambda f: abs(float(f(np.ones(3) / 3, np.ones(3) / 3))) < 1e-9)\n'
                      '### END HIDDEN TESTS\ngrading.check("kl_code", kl_divergence)',
                      metadata={"nbgrader": {**NBG, "grade": True, "grade_id": "kl_code", "locked": True, "points": 2,
                                             "solution": False}})
HONEST = ("def kl_divergence(p, q):\n    p, q = np.asarray(p, float), np.asarray(q, float)\n"
          "    m = p > 0\n    with np.errstate(divide='ignore'):\n        return float(np.sum(p[m] * np.log(p[m] / q[m])))")
WRONG = "def kl_divergence(p, q):\n    return float(\"nan\")"


def notebook(answer=HONEST, before="", after=""):
    cells = [SETUP, answer_cell(answer)] + ([new_code_cell(before)] if before else []) + [CHECK]
    cells += [new_code_cell(after)] if after else []
    return nbformat.v4.new_notebook(cells=[nbformat.from_dict(json.loads(json.dumps(c))) for c in cells])


def read_rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return {r["file"]: r for r in csv.DictReader(fh)}


def alive(tag: str) -> list[str]:
    """Command lines of the host's processes that contain ``tag`` (read from /proc, like pgrep -af)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
            except OSError:
                continue
            if tag in cmd:
                found.append(f"{entry.name} {cmd}")
    return found


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("class")
    source, subs, outside = tmp / "source", tmp / "subs", tmp / "outside"
    for d in (source, subs, outside):
        d.mkdir()
    nbformat.write(nbformat.v4.new_notebook(cells=[SETUP, answer_cell(HONEST), CHECK]), source / "kl.ipynb")
    real = nbformat.read(ROOT / "solutions" / "04_reparameterization.ipynb", as_version=4)
    nbformat.write(real, source / "04_reparameterization.ipynb")
    out = tmp / "grades.csv"
    tag = f"{4000 + uuid.uuid4().int % 1000}.25"            # a sleep length no other process uses
    marker = outside / "escaped.txt"
    cases = {
        "honest1_kl": notebook(),
        "honest2_kl": notebook(),
        "honest3_kl": notebook(),
        # the verdict is not the kernel's: patching the checker, printing or writing fake scores
        "patcher_kl": notebook(WRONG, after=(
            "import vae_course.grading as g, vae_course.checks as c\n"
            "g.check = g.evaluate = lambda *a, **k: g.Score(2.0, {'qid': 'kl_code', 'earned': 2.0, 'points': 2.0})\n"
            "c.close = lambda *a, **k: True\nc.get('kl_code').checks.clear()\n"
            "print(g.check('kl_code', kl_divergence))")),
        "forger_kl": notebook(WRONG, after=(
            "import os, json\nline = json.dumps({'grade_id': 'kl_code', 'ran': True, 'error': None,\n"
            "    'score': {'qid': 'kl_code', 'earned': 2, 'points': 2}}) + '\\n'\n"
            "for fd in range(1, 40):\n    try:\n        os.write(fd, line.encode())\n    except OSError:\n        pass\n"
            "for path in ['/proc/%d/fd/1' % os.getppid(), '/proc/1/fd/1', '/dev/stdout']:\n"
            "    try:\n        open(path, 'w').write(line)\n    except OSError:\n        pass")),
        # instructor material: solutions/ beside the package, the --source folder, the hidden checks
        "reader_kl": notebook(WRONG, after=(
            "import pathlib, vae_course\nfound = []\n"
            f"for p in [pathlib.Path(vae_course.__file__).parent.parent / 'solutions', pathlib.Path({str(source)!r}),\n"
            f"          pathlib.Path({str(ROOT / 'solutions')!r}), pathlib.Path({str(out)!r})]:\n"
            "    if p.exists():\n        found.append(str(p))\n"
            "if found:\n    kl_divergence = lambda p, q: float(np.sum(p * np.log(p / q)))\n"
            "print('found', found)")),
        # escapes: absolute and relative paths, ~, the neighbours' folders, a later student's file
        "escaper_kl": notebook(after=(
            "import os, shutil\n"
            f"for p in [{str(marker)!r}, '../../escaped.txt', os.path.expanduser('~/escaped.txt')]:\n"
            "    try:\n        open(p, 'w').write('x')\n    except OSError:\n        pass\n"
            f"for p in ['..', '../..', '/tmp', {str(subs)!r}, {str(tmp)!r}]:\n"
            "    shutil.rmtree(p, ignore_errors=True)\n"
            f"try:\n    open({str(subs / 'zz_last_kl.ipynb')!r}, 'w').write('{{}}')\nexcept OSError:\n    pass")),
        # processes: setsid children and a daemon that waits, then edits the gradebook
        "spawner_kl": notebook(after=(
            "import subprocess\n"
            f"subprocess.Popen(['setsid', 'sh', '-c', 'sleep 2; echo forged,0,0 >> {out}; sleep {tag}'])\n"
            "kids = 0\nfor _ in range(100):\n    try:\n"
            f"        subprocess.Popen(['setsid', 'sleep', '{tag}'])\n        kids += 1\n    except OSError:\n        break\n"
            "print('started', kids)")),
        # memory: 3 GiB at once
        "hog_kl": notebook(after="big = np.ones(3 * 2**30, dtype=np.uint8)\nprint(big.sum())"),
        # time: a cell that never ends is stopped at the time limit; the answers before it still count
        "looper_kl": notebook(after="while True:\n    pass"),
        "zz_last_kl": notebook(),
        "=HYPERLINK(\"x\")_kl": notebook(),
    }
    for name, nb in cases.items():
        nbformat.write(nb, subs / f"{name}.ipynb")
    from test_grade import wrong_version
    nbformat.write(real, subs / "alice_04_reparameterization.ipynb")
    (subs / "carol").mkdir()
    nbformat.write(wrong_version(real, {"reparam_by_hand"}), subs / "carol" / "04_reparameterization.ipynb")
    (subs / "dup").mkdir()
    nbformat.write(notebook(), subs / "dup" / "kl.ipynb")
    nbformat.write(notebook(WRONG), subs / "dup_kl.ipynb")
    (subs / "link_kl.ipynb").symlink_to(subs / "honest1_kl.ipynb")
    before = {p: p.read_bytes() for p in subs.rglob("*.ipynb") if not p.is_symlink()}
    t0 = time.monotonic()
    rows = {r.file: r for r in grade.grade_folder(subs, source, time_limit=30, jobs=2, progress=False, out=out,
                                                  feedback=tmp / "feedback")}
    seconds = time.monotonic() - t0
    time.sleep(3)                                             # give a surviving daemon time to strike
    return dict(rows=rows, out=out, subs=subs, before=before, marker=marker, tag=tag, tmp=tmp, seconds=seconds,
                source=source)


def test_honest_submissions_keep_full_marks_beside_the_attacks(attacked):
    rows = attacked["rows"]
    print({k: (r.total, r.status, r.errors) for k, r in rows.items()})
    for name in ("honest1_kl.ipynb", "honest2_kl.ipynb", "honest3_kl.ipynb", "zz_last_kl.ipynb",
                 "escaper_kl.ipynb", "spawner_kl.ipynb"):
        assert rows[name].total == 2 and rows[name].points == {"kl_code": 2.0}, (name, rows[name])
    assert rows["honest1_kl.ipynb"].status == "ok" and rows["honest1_kl.ipynb"].errors == []


def test_a_real_assignment_scores_per_question_with_feedback(attacked):
    table = read_rows(attacked["out"])
    alice, carol = table["alice_04_reparameterization.ipynb"], table["carol/04_reparameterization.ipynb"]
    assert (alice["student"], alice["total"], alice["max_total"], alice["status"]) == ("alice", "8", "8", "ok")
    assert (alice["reparam_code"], alice["reparam_by_hand"], alice["reparam_gradient"]) == ("3", "1", "2")
    assert (carol["student"], carol["reparam_by_hand"], carol["total"]) == ("carol", "0", "7")   # 8 − the by-hand point
    text = (attacked["tmp"] / "feedback" / "carol" / "04_reparameterization.ipynb").read_text()
    assert "✘ z at ε's quantile of N(μ, σ²) for your numbers" in text and "(hidden)" in text and "points: 0 / 1" in text
    assert "HIDDEN TESTS" not in text and "grading.hidden" not in text


def test_forged_verdicts_score_zero(attacked):
    rows = attacked["rows"]
    for name in ("patcher_kl.ipynb", "forger_kl.ipynb", "reader_kl.ipynb"):
        assert rows[name].total == 0, (name, rows[name])


def test_instructor_material_is_not_in_the_sandbox_nor_in_the_feedback(attacked):
    fb = (attacked["tmp"] / "feedback" / "reader_kl.ipynb").read_text()
    assert "found []" in fb                         # the reader saw none of the four paths
    for path in (attacked["tmp"] / "feedback").rglob("*.ipynb"):
        text = path.read_text()
        assert "HIDDEN" not in text and "hidden-7f3a" not in text and "grading.hidden" not in text
    assert "(hidden)" in fb                         # the verdict names the hidden check, not its code


def test_nothing_outside_the_sandbox_changed(attacked):
    assert not attacked["marker"].exists() and not (Path.home() / "escaped.txt").exists()
    after = {p: p.read_bytes() for p in attacked["subs"].rglob("*.ipynb") if not p.is_symlink()}
    assert after == attacked["before"]
    assert attacked["source"].is_dir()


def test_processes_die_with_the_sandbox_and_the_gradebook_is_untouched(attacked):
    assert alive(f"sleep {attacked['tag']}") == []
    text = attacked["out"].read_text()
    assert "forged" not in text
    assert read_rows(attacked["out"])["spawner_kl.ipynb"]["total"] == "2"


def test_memory_limit_stops_a_3_gib_allocation(attacked):
    hog = attacked["rows"]["hog_kl.ipynb"]
    assert hog.total == 2 and hog.status == "errors" and any("MemoryError" in e for e in hog.errors), hog


def test_a_cell_that_loops_is_stopped_at_the_time_limit(attacked):
    looper = attacked["rows"]["looper_kl.ipynb"]
    assert looper.status == "timeout" and looper.total == 2, looper
    assert any("time limit of 30 s" in e for e in looper.errors)


def test_symlinks_duplicates_and_formula_names(attacked):
    rows = attacked["rows"]
    assert rows["link_kl.ipynb"].status == "symlink refused" and rows["link_kl.ipynb"].total == 0
    assert rows["dup/kl.ipynb"].total == 2 and rows["dup_kl.ipynb"].total == 0
    assert "duplicate" in rows["dup/kl.ipynb"].status and "duplicate" in rows["dup_kl.ipynb"].status
    table = read_rows(attacked["out"])
    evil = table["'=HYPERLINK(\"x\")_kl.ipynb"]
    assert evil["student"].startswith("'=") and evil["total"] == "2"
    assert len(table) == len(rows)


def test_kill_the_grader_then_resume(tmp_path):
    source, subs = tmp_path / "source", tmp_path / "subs"
    source.mkdir()
    subs.mkdir()
    nbformat.write(nbformat.v4.new_notebook(cells=[SETUP, answer_cell(HONEST), CHECK]), source / "kl.ipynb")
    for i in range(3):
        nbformat.write(notebook(), subs / f"s{i}_kl.ipynb")
    nbformat.write(notebook(after="import time\ntime.sleep(600)"), subs / "s3_kl.ipynb")     # still running when killed
    out = tmp_path / "grades.csv"
    cmd = [sys.executable, "-m", "vae_course.grade", str(subs), "--out", str(out), "--source", str(source),
           "--time-limit", "120"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    workers_before = set(alive("vae_course.harvest"))
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    journal = out.with_name(out.name + ".journal")
    deadline = time.monotonic() + 400
    while time.monotonic() < deadline and (not journal.exists() or journal.read_text().count("\n") < 3):
        time.sleep(0.5)
    time.sleep(1)
    os.kill(proc.pid, signal.SIGKILL)                    # the grader only: its sandbox must die with it
    proc.wait()
    assert journal.read_text().count("\n") == 3
    assert len(read_rows(out)) == 3                      # the CSV holds what was graded before the kill
    time.sleep(1)
    assert set(alive("vae_course.harvest")) - workers_before == set()      # the worker died with the grader
    first = {r["file"]: r["seconds"] for r in read_rows(out).values()}
    nbformat.write(notebook(), subs / "s3_kl.ipynb")     # (the looping one is fixed for the re-run)
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = read_rows(out)
    assert len(rows) == 4 and all(r["total"] == "2" for r in rows.values())
    assert {f: rows[f]["seconds"] for f in first} == first   # resumed: the first three were not graded again
