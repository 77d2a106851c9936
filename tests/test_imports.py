"""The package has no import circles: each module's imports of other vae_course modules, module-level or inside
functions, form a graph without cycles (a lazy import inside a function is still a circle in the design)."""
import ast
from pathlib import Path

import vae_course

PACKAGE = Path(vae_course.__file__).parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """vae_course modules that ``path`` imports (relative or absolute, anywhere in the file)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("vae_course"):
                # "from . import models" names a module too
                for alias in node.names:
                    if (PACKAGE.parent / (target + "." + alias.name).replace(".", "/")).with_suffix(".py").exists() \
                            or (PACKAGE.parent / (target + "." + alias.name).replace(".", "/") / "__init__.py").exists():
                        found.add(target + "." + alias.name)
                found.add(target)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("vae_course"))
    return {m for m in found if m != name}


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        # a package's __init__ is imported before any of its submodules: an edge to a parent package is not a circle
        graph[name] = {m for m in _imports(path) if m in modules and not name.startswith(m + ".")}
    return graph


def _cycle(graph):
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_package_has_no_import_circles():
    cycle = _cycle(_graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle)


def test_the_circle_finder_finds_a_circle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_models_and_latent_do_not_import_each_other():
    graph = _graph()
    assert "vae_course.latent" not in graph["vae_course.models"]
    assert "vae_course.train" not in graph["vae_course.latent"]
