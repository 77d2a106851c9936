"""A printable exam sheet: the questions, then (on a new page) the answer key with worked solutions.

Written as Markdown (``sheet.md``) and as a standalone HTML page (``sheet.html``) whose mathematics
is rendered to MathML when the sheet is built (by ``latex2mathml``), so the page needs no network,
no script and no CDN; CSS page breaks keep the questions and the answer key on separate pages when
printed. Mock-exam sheets (``--exam``) name each question's topic and problem type, and the answer
key says which lecture and section to revise.
"""
from __future__ import annotations

import html
from pathlib import Path

from .core import TOLERANCE_TEXT, Drill
from .make import KIND_LABELS

__all__ = ["markdown_html", "latex_mathml", "sheet_markdown", "sheet_html", "write_sheet", "show_drill", "PAGE_BREAK"]

PAGE_BREAK = '<div style="page-break-after: always; break-after: page;"></div>'

_CSS = """
body { font-family: Georgia, 'Times New Roman', serif; max-width: 46em; margin: 2em auto; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
.problem { break-inside: avoid; page-break-inside: avoid; border-top: 1px solid #ccc; padding-top: .4em; }
.blank { margin-top: .6em; }
.page-break { break-after: page; page-break-after: always; }
.meta { color: #555; font-size: .9em; }
math[display="block"] { display: block; margin: .6em 0; overflow-x: auto; }
@media print { body { margin: 0 1em; } a { color: black; } }
"""
def latex_mathml(latex: str, display: bool = False) -> str:
    """LaTeX to a MathML ``<math>`` element (rendered now, shown by any browser without scripts).

    Uses :func:`vae_course.mathml.to_mathml`; if it cannot read the formula, the LaTeX is shown as escaped code
    instead (the tests check that every drill's formulas render).
    """
    from ..mathml import to_mathml

    out = to_mathml(latex, "block" if display else "inline")
    return out if out is not None else f"<code class='latex'>{html.escape(latex)}</code>"


def markdown_html(text: str, mathml: bool = False) -> str:
    """Markdown with LaTeX to HTML, via mistune (installed with nbconvert).

    ``mathml=False`` leaves the math as ``\\(...\\)`` / ``$$...$$`` for MathJax (the notebook widgets);
    ``mathml=True`` renders it to MathML now (the printable sheet, which must work offline).
    """
    try:
        import mistune
    except ImportError:   # pragma: no cover - mistune comes with Jupyter; keep a readable fallback
        return "".join(f"<p>{html.escape(par)}</p>" for par in text.split("\n\n"))
    md = mistune.create_markdown(escape=True, plugins=["math"])
    if mathml:
        md.renderer.register("block_math", lambda renderer, latex: latex_mathml(latex, display=True) + "\n")
        md.renderer.register("inline_math", lambda renderer, latex: latex_mathml(latex))
    return md(text)


def _title(i: int, drill: Drill) -> str:
    if drill.topic is not None:
        from .exam import PROBLEM_TYPES, TOPICS
        return f"Problem {i} · {TOPICS[drill.topic].label} · {PROBLEM_TYPES[drill.problem_type]}"
    return f"Problem {i} · {KIND_LABELS.get(drill.kind, drill.kind)} ({drill.difficulty})"


def _revise(drill: Drill) -> str:
    """Mock-exam questions: where to revise (Markdown), else ''."""
    if drill.topic is None:
        return ""
    from .exam import TOPICS
    t = TOPICS[drill.topic]
    return f"\n\n*Revise:* `{t.lecture}`: {t.section}."


def _blank(drill: Drill) -> str:
    return "the number of your choice" if drill.choices else drill.unit


def _answer_line(drill: Drill) -> str:
    return f"**Answer:** {drill.answer_text()}"


def show_drill(drill: Drill, number: int | None = None, solution: bool = True) -> None:
    """Display one drill in a notebook (question, then answer and worked solution) as Markdown."""
    from IPython.display import Markdown, display

    title = _title(number, drill) if number is not None else _title(0, drill).split(" · ", 1)[1]
    text = f"#### {title}\n\n{drill.question}"
    if solution:
        text += f"\n\n**Solution.** {_answer_line(drill).removeprefix('**Answer:** ')}\n\n{drill.solution}"
    display(Markdown(text))


def sheet_markdown(drills: list[Drill], title: str = "KL divergence drills", seed: int | None = None) -> str:
    """The sheet as Markdown: problems, a page break, then the answer key with worked solutions."""
    about = f"{len(drills)} problems" + (f", seed {seed}" if seed is not None else "")
    parts = [f"# {title}", f"*{about}. Give answers in the unit asked for, to 3–4 significant figures "
                           f"(they are graded {TOLERANCE_TEXT}).*"]
    for i, drill in enumerate(drills, 1):
        blank = f"\n\n**Your answer:** ______________ ({_blank(drill)})"
        parts.append(f"## {_title(i, drill)}\n\n{drill.question}{blank}")
    parts.append(PAGE_BREAK)
    parts.append("# Answer key")
    for i, drill in enumerate(drills, 1):
        parts.append(f"## {_title(i, drill)}\n\n{_answer_line(drill)}\n\n{drill.solution}{_revise(drill)}")
    return "\n\n".join(parts) + "\n"


def sheet_html(drills: list[Drill], title: str = "KL divergence drills", seed: int | None = None) -> str:
    """The same sheet as a standalone HTML page: math rendered to MathML, print CSS, no scripts, no network."""
    about = f"{len(drills)} problems" + (f", seed {seed}" if seed is not None else "")
    body = [f"<h1>{html.escape(title)}</h1>",
            f"<p class='meta'>{html.escape(about)}. Give answers in the unit asked for, to 3–4 significant "
            f"figures (they are graded {html.escape(TOLERANCE_TEXT)}).</p>"]
    for i, drill in enumerate(drills, 1):
        blank = f"<p class='blank'><b>Your answer:</b> ______________ ({html.escape(_blank(drill))})</p>"
        body.append(f"<section class='problem'><h2>{html.escape(_title(i, drill))}</h2>"
                    f"{markdown_html(drill.question, mathml=True)}{blank}</section>")
    body.append("<div class='page-break'></div>")
    body.append("<h1>Answer key</h1>")
    for i, drill in enumerate(drills, 1):
        body.append(f"<section class='problem'><h2>{html.escape(_title(i, drill))}</h2>"
                    f"{markdown_html(_answer_line(drill), mathml=True)}"
                    f"{markdown_html(drill.solution + _revise(drill), mathml=True)}</section>")
    return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>\n<body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def write_sheet(drills: list[Drill], path, seed: int | None = None,
                title: str = "KL divergence drills") -> tuple[Path, Path]:
    """Write ``path`` (Markdown) and the same name with ``.html``; returns both paths."""
    md_path = Path(path)
    if md_path.suffix.lower() not in (".md", ".markdown"):
        raise ValueError(f"the sheet path should end in .md, got {str(path)!r}")
    html_path = md_path.with_suffix(".html")
    texts = ((md_path, sheet_markdown(drills, title, seed=seed)), (html_path, sheet_html(drills, title, seed=seed)))
    md_path.parent.mkdir(parents=True, exist_ok=True)
    tmps = [target.with_name(target.name + ".tmp") for target, _ in texts]
    try:   # write both next to their targets, then move them into place; on any failure leave no .tmp behind
        for tmp, (_, text) in zip(tmps, texts):
            tmp.write_text(text, encoding="utf-8")
        for tmp, (target, _) in zip(tmps, texts):
            tmp.replace(target)
    finally:
        for tmp in tmps:
            try:
                tmp.unlink(missing_ok=True)
            except OSError:      # pragma: no cover - e.g. the folder itself became unwritable
                pass
    return md_path, html_path
