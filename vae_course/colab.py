"""Colab support written from one URL: ``[project.urls] Repository`` in ``pyproject.toml``.

    python -m vae_course.colab            # write the setup cell and the "Open in Colab" badges
    python -m vae_course.colab --check    # exit 1 if a notebook or the README is out of date (a test runs this)

Every lecture (``notebooks/``) and exercise (``solutions/``, hence ``exercises/`` through ``vae_course.assign``)
gets, right after its title cell, a **setup cell** that does nothing outside Colab. On Colab it installs the course
from the repository with pip, with every one of Colab's own ``torch``, ``torchvision``, ``numpy`` and ``matplotlib``
pinned to the version already installed (a pip constraints file), so pip never reinstalls or upgrades them. The title
cell and the README's notebook table get an "Open in Colab" badge for the same repository. A fork changes the URL in
``pyproject.toml`` and runs this command again: nothing else names the repository.
"""
from __future__ import annotations

import argparse
import re
import sys
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import nbformat

__all__ = ["repository_url", "setup_cell_source", "colab_url", "badge", "update", "KEEP", "SETUP_TAG"]

ROOT = Path(__file__).resolve().parent.parent
SETUP_TAG = "colab-setup"
#: Colab's preinstalled packages that the install must leave exactly as they are.
KEEP = ("torch", "torchvision", "numpy", "matplotlib")
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"


def repository_url(pyproject: Path | None = None) -> str:
    """``[project.urls] Repository`` from ``pyproject.toml`` (the one place the URL is written)."""
    path = Path(pyproject or ROOT / "pyproject.toml")
    urls = tomllib.loads(path.read_text(encoding="utf-8"))["project"].get("urls", {})
    url = urls.get("Repository", "").strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http", "file") or not (parts.netloc or parts.scheme == "file"):
        raise ValueError(f"pyproject.toml [project.urls] Repository must be a URL, got {url!r}")
    return url


def setup_cell_source(url: str) -> str:
    """The code of the setup cell for the repository at ``url``."""
    if not isinstance(url, str) or not url or any(c in url for c in "\"'\\\n"):
        raise ValueError(f"url must be a plain URL string, got {url!r}")
    keep = ", ".join(f'"{name}"' for name in KEEP)
    return f'''# Setup for Google Colab: installs the course; anywhere else this cell does nothing.
import sys
if "google.colab" in sys.modules:
    import importlib.metadata, subprocess, tempfile
    REPOSITORY = "{url}"
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as keep:   # Colab's own versions, kept as they are
        for name in ({keep}):
            try:
                keep.write(f"{{name}}=={{importlib.metadata.version(name)}}\\n")
            except importlib.metadata.PackageNotFoundError:
                pass
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-c", keep.name, f"git+{{REPOSITORY}}"],
                   check=True)'''


def _github(url: str) -> tuple[str, str] | None:
    parts = urlsplit(url)
    path = parts.path.strip("/").removesuffix(".git").split("/")
    if parts.netloc.lower() in ("github.com", "www.github.com") and len(path) == 2:
        return path[0], path[1]
    return None


def colab_url(url: str, path: str, branch: str = "main") -> str | None:
    """Colab's address for notebook ``path`` of the repository (None if the repository is not on GitHub)."""
    gh = _github(url)
    return None if gh is None else f"https://colab.research.google.com/github/{gh[0]}/{gh[1]}/blob/{branch}/{path}"


def badge(url: str, path: str, branch: str = "main") -> str:
    """Markdown for an "Open in Colab" badge ('' if the repository is not on GitHub)."""
    target = colab_url(url, path, branch)
    return "" if target is None else f"[![Open In Colab]({BADGE_IMAGE})]({target})"


_BADGE_RE = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)")


def _source(cell) -> str:
    return cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])


def _update_notebook(nb: dict, url: str, badge_path: str, lecture: bool) -> dict:
    cells = nb["cells"]
    setup = setup_cell_source(url)
    if not cells or cells[0]["cell_type"] != "markdown":
        raise ValueError("a course notebook starts with its title (a Markdown cell)")
    title = _source(cells[0])
    mark = badge(url, badge_path)
    lines = [line for line in title.rstrip().split("\n") if not _BADGE_RE.fullmatch(line.strip())]
    title = "\n".join(lines[:1] + ([mark] if mark else []) + lines[1:]).rstrip()
    cells[0]["source"] = title
    existing = [i for i, c in enumerate(cells) if SETUP_TAG in c.get("metadata", {}).get("tags", [])]
    if existing:
        cell = cells[existing[0]]
        cell["source"] = setup
    else:
        count = 1 if lecture and any(c.get("execution_count") for c in cells if c["cell_type"] == "code") else None
        if count:   # the cell is a no-op outside Colab: a clean run numbers it 1 and the others one higher
            for c in cells:
                if c["cell_type"] == "code" and c.get("execution_count"):
                    c["execution_count"] += 1
        cells.insert(1, {"cell_type": "code", "execution_count": count, "id": "colab-setup",
                         "metadata": {"tags": [SETUP_TAG]}, "outputs": [], "source": setup})
    return nb


def _readme(text: str, url: str) -> str:
    def row(m):
        line = _BADGE_RE.sub("", m.group(0)).replace("  ", " ")
        mark = badge(url, m.group(1))
        return line if not mark else line.rstrip().rstrip("|").rstrip() + f" {mark} |"
    return re.sub(r"^\| [^|\n]+ \| \[`(notebooks/[^`]+\.ipynb)`\][^\n]*$", row, text, flags=re.M)


def update(root: Path | None = None, check: bool = False) -> list[str]:
    """Write (or with ``check``, only compare) the setup cells and badges; returns the files that differ."""
    root = Path(root or ROOT)
    url = repository_url(root / "pyproject.toml")
    changed = []
    targets = [(p, f"notebooks/{p.name}", True) for p in sorted((root / "notebooks").glob("*.ipynb"))]
    targets += [(p, f"exercises/{p.name}", False) for p in sorted((root / "solutions").glob("*.ipynb"))]
    for path, badge_path, lecture in targets:
        text = path.read_text(encoding="utf-8")
        nb = _update_notebook(nbformat.reads(text, as_version=4), url, badge_path, lecture)
        new = nbformat.writes(nbformat.from_dict(nb)) + "\n"
        if new != text:
            changed.append(str(path.relative_to(root)))
            if not check:
                path.write_text(new, encoding="utf-8")
    readme = root / "README.md"
    text = readme.read_text(encoding="utf-8")
    new = _readme(text, url)
    if new != text:
        changed.append("README.md")
        if not check:
            readme.write_text(new, encoding="utf-8")
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vae_course.colab", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if something is out of date")
    args = parser.parse_args(argv)
    changed = update(check=args.check)
    for path in changed:
        print(("out of date: " if args.check else "wrote ") + path)
    if args.check and changed:
        print("run: python -m vae_course.colab, then python -m vae_course.assign", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
