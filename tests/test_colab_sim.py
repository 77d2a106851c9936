"""Colab, simulated: an environment with an older PyTorch already installed (as Colab's is), the setup cell run in
it with the Colab check forced on and the repository URL pointing at a fork (a local clone), then lecture 01.

Needs such an environment: ``VAE_COURSE_COLAB_PYTHON=/path/to/python`` (``.ci/min-versions`` passes its own,
which holds the oldest supported torch). The test uninstalls vae-course from it first and leaves the course
installed from the fork (``.ci/min-versions`` reinstalls its editable copy afterwards). Skipped without it.
"""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from vae_course import colab

PYTHON = os.environ.get("VAE_COURSE_COLAB_PYTHON")
REPO = Path(__file__).resolve().parents[1]
KEPT = ("torch", "torchvision", "numpy", "matplotlib")

pytestmark = pytest.mark.skipif(not PYTHON, reason="set VAE_COURSE_COLAB_PYTHON to an environment with an older "
                                                   "torch (bash .ci/min-versions does)")


def _run(*args, **kw):
    return subprocess.run([PYTHON, *args], check=True, capture_output=True, text=True, **kw)


def _versions() -> dict:
    code = f"import importlib.metadata as m, json; print(json.dumps({{n: m.version(n) for n in {KEPT!r}}}))"
    return json.loads(_run("-c", code).stdout)


def test_the_setup_cell_installs_the_course_and_keeps_the_stack(tmp_path):
    fork = tmp_path / "fork"
    subprocess.run(["git", "clone", "-q", REPO.as_uri(), str(fork)], check=True)   # a full clone, as a fork is
    url = fork.as_uri()
    before = _versions()
    _run("-m", "pip", "uninstall", "-q", "-y", "vae-course")
    cell = colab.setup_cell_source(url)
    force_colab = "import sys, types; sys.modules['google.colab'] = types.ModuleType('google.colab')\n"
    work = tmp_path / "content"          # Colab's working folder, outside any checkout
    work.mkdir()
    _run("-c", force_colab + cell, cwd=work)
    assert _versions() == before, "the setup cell changed Colab's own packages"
    where = _run("-c", "import vae_course, pathlib; print(pathlib.Path(vae_course.__file__).resolve())", cwd=work).stdout
    assert str(REPO) not in where, f"vae_course was imported from the checkout, not the installed fork: {where}"

    lecture = work / "01_entropy_and_kl.ipynb"
    lecture.write_text((REPO / "notebooks" / "01_entropy_and_kl.ipynb").read_text())
    script = textwrap.dedent(f"""
        import nbformat
        from nbclient import NotebookClient
        nb = nbformat.read({str(lecture)!r}, as_version=4)
        NotebookClient(nb, timeout=600, kernel_name="python3", resources={{"metadata": {{"path": {str(work)!r}}}}}).execute()
        errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
        assert not errors, errors[:1]
        print("lecture 01 ran:", sum(c.cell_type == "code" for c in nb.cells), "code cells")
    """)
    env = {**os.environ, "VAE_COURSE_FAST": "1", "MPLBACKEND": "Agg"}
    env.pop("PYTHONPATH", None)
    out = _run("-c", script, cwd=work, env=env).stdout
    assert "lecture 01 ran" in out
