"""environment.yml (conda, Binder) and pyproject.toml (pip) name the same dependencies with the same floors,
and the floors are the versions the minimum-versions check (.ci/min-constraints.txt) pins."""
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"torch": "pytorch"}   # PyPI name -> conda-forge name
EXTRAS_IN_CONDA = ("lab", "dev")     # the site extra is for building the website, not for Binder


def _split(requirement: str) -> tuple[str, str]:
    """'torch>=2.4  # why' -> ('torch', '>=2.4')."""
    requirement = requirement.split("#")[0].strip()
    name = re.split(r"[<>=!~\[ ;]", requirement, maxsplit=1)[0].lower()
    return name, requirement[len(name):].strip()


def _pyproject() -> dict[str, str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(data["dependencies"])
    for extra in EXTRAS_IN_CONDA:
        reqs += data["optional-dependencies"][extra]
    return dict(_split(r) for r in reqs)


def _conda():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    names, pip = {}, []
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip += dep.get("pip", [])
        else:
            name, spec = _split(dep)
            names[name] = spec
    return env, names, pip


def test_every_dependency_appears_in_both_files_with_the_same_floor():
    pyproject = {CONDA_NAMES.get(n, n): spec for n, spec in _pyproject().items()}
    env, conda, pip = _conda()
    assert set(pyproject) - set(conda) == set(), "in pyproject.toml but not in environment.yml"
    assert set(conda) - set(pyproject) - {"python", "pip"} == set(), "in environment.yml but not in pyproject.toml"
    for name, spec in pyproject.items():
        assert conda[name] == spec, f"{name}: pyproject.toml says {spec!r}, environment.yml {conda[name]!r}"
    assert "conda-forge" in env["channels"]
    assert "-e ." in pip, "environment.yml must install the course itself with pip (-e .)"


def test_no_upper_pins_and_every_floor_is_the_tested_minimum():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = dict(line.split("==") for line in (ROOT / ".ci" / "min-constraints.txt").read_text().split("\n")
                if line.strip() and not line.startswith("#"))
    reqs = list(data["dependencies"]) + data["optional-dependencies"]["dev"]
    for req in reqs:
        name, spec = _split(req)
        assert "<" not in spec and "==" not in spec, f"upper or exact pin: {req}"
        assert spec.startswith(">="), f"no floor: {req}"
        floor = spec[2:]
        assert name in pins, f"{name} is not pinned in .ci/min-constraints.txt"
        assert pins[name] == floor or pins[name].startswith(floor + ".") or pins[name] == floor + ".0", \
            f"{name}: floor {floor} but the minimum-versions check tests {pins[name]}"


def test_jupyterlab_is_an_extra_not_a_core_dependency():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "jupyterlab" not in {_split(r)[0] for r in data["dependencies"]}
    assert "jupyterlab" in {_split(r)[0] for r in data["optional-dependencies"]["lab"]}
