"""Colab support: the setup cell does nothing outside Colab; on Colab it installs the course from the repository
URL with Colab's torch, torchvision, numpy and matplotlib pinned as they are; badges and cells come from one URL."""
import importlib.metadata
import subprocess
import sys
import types

import pytest

from vae_course import colab

FORK = "https://github.com/some-student/my-vae-course-fork"


def _run_cell(source: str, monkeypatch, on_colab: bool):
    calls = []

    def fake_run(args, **kw):
        keep = args[args.index("-c") + 1]
        with open(keep) as f:
            calls.append((list(args), f.read(), kw))
        return subprocess.CompletedProcess(args, 0)

    monkeypatch.setattr(subprocess, "run", fake_run)
    if on_colab:
        monkeypatch.setitem(sys.modules, "google", types.ModuleType("google"))
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    exec(compile(source, "<setup cell>", "exec"), {})
    return calls


def test_the_committed_notebooks_and_readme_are_up_to_date():
    assert colab.update(check=True) == [], "run python -m vae_course.colab, then python -m vae_course.assign"


def test_outside_colab_the_setup_cell_does_nothing(monkeypatch):
    assert _run_cell(colab.setup_cell_source(FORK), monkeypatch, on_colab=False) == []


def test_on_colab_it_installs_from_the_url_and_pins_colabs_own_stack(monkeypatch):
    (args, constraints, kw), = _run_cell(colab.setup_cell_source(FORK), monkeypatch, on_colab=True)
    assert args[:4] == [sys.executable, "-m", "pip", "install"]
    assert args[-1] == f"git+{FORK}"      # the plain form every pip version reads
    assert "--upgrade" not in args and "-U" not in args and "--force-reinstall" not in args
    pins = dict(line.split("==") for line in constraints.split())
    for name in ("torch", "torchvision", "numpy", "matplotlib"):
        assert pins[name] == importlib.metadata.version(name)
    assert kw.get("check") is True


def test_badges_follow_the_url_and_a_fork():
    assert colab.colab_url(FORK, "notebooks/01_entropy_and_kl.ipynb") == (
        "https://colab.research.google.com/github/some-student/my-vae-course-fork/blob/main/notebooks/01_entropy_and_kl.ipynb")
    assert "my-vae-course-fork" in colab.badge(FORK, "exercises/03_elbo.ipynb")
    assert colab.badge("https://gitlab.com/a/b", "notebooks/x.ipynb") == ""     # Colab opens GitHub only


def test_the_url_is_read_from_pyproject_and_checked(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text(f'[project]\nname = "x"\n[project.urls]\nRepository = "{FORK}/"\n')
    assert colab.repository_url(good) == FORK
    bad = tmp_path / "bad.toml"
    bad.write_text('[project]\nname = "x"\n[project.urls]\nRepository = "not a url"\n')
    with pytest.raises(ValueError, match="Repository"):
        colab.repository_url(bad)
    with pytest.raises(ValueError, match="url"):
        colab.setup_cell_source('https://x/"; import os; os.system("boom") #')


def test_every_lecture_and_exercise_starts_with_the_setup_cell():
    import nbformat
    url = colab.repository_url()
    for folder in ("notebooks", "solutions", "exercises"):
        for path in sorted((colab.ROOT / folder).glob("*.ipynb")):
            cells = nbformat.read(path, as_version=4).cells
            first_code = next(c for c in cells if c.cell_type == "code")
            assert colab.SETUP_TAG in first_code.metadata.get("tags", []), path.name
            assert first_code.source == colab.setup_cell_source(url), path.name
            if folder != "solutions":
                assert colab.colab_url(url, f"{folder}/{path.name}") in cells[0].source, path.name
