"""environment.yml (conda) and pyproject.toml (pip) name the same dependencies."""
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"torch": "pytorch"}   # PyPI name -> conda-forge name


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement.strip(), maxsplit=1)[0].lower()


def _pyproject():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {_name(r) for r in data["dependencies"]}, {_name(r) for r in data["optional-dependencies"]["dev"]}


def _conda():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    names, pip = set(), []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip += dep.get("pip", [])
        else:
            names.add(_name(dep))
    return env, names, pip


def test_every_dependency_appears_in_both_files():
    runtime, dev = _pyproject()
    env, conda, pip = _conda()
    wanted = {CONDA_NAMES.get(n, n) for n in runtime | dev}
    assert wanted - conda == set(), "in pyproject.toml but not in environment.yml"
    assert conda - wanted - {"python", "pip"} == set(), "in environment.yml but not in pyproject.toml"
    assert "conda-forge" in env["channels"]
    assert "-e ." in pip, "environment.yml must install the course itself with pip (-e .)"


def test_no_upper_pins_on_torch():
    runtime, _ = _pyproject()
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for req in data:
        assert "<" not in req and "==" not in req, f"upper or exact pin: {req}"
