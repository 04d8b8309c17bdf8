"""A report as a list of blocks, written as Markdown or as self-contained HTML."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Block:
    """One piece of a report: ``kind`` is h1, h2, p, table or img."""

    kind: str
    text: str = ""
    headers: list[str] | None = None
    rows: list[list[str]] | None = None
    path: Path | None = None


def _md_cell(x: str) -> str:
    return str(x).replace("|", "\\|").replace("\n", " ")


def to_markdown(blocks: list[Block], root: Path) -> str:
    """Markdown; images are linked relative to ``root`` (the report's folder)."""
    out = []
    for b in blocks:
        if b.kind == "h1":
            out.append(f"# {b.text}\n")
        elif b.kind == "h2":
            out.append(f"## {b.text}\n")
        elif b.kind == "p":
            out.append(b.text + "\n")
        elif b.kind == "table":
            assert b.headers is not None and b.rows is not None
            out.append("| " + " | ".join(map(_md_cell, b.headers)) + " |")
            out.append("|" + "|".join(["---"] + ["---:"] * (len(b.headers) - 1)) + "|")
            out += ["| " + " | ".join(map(_md_cell, r)) + " |" for r in b.rows]
            out.append("")
        elif b.kind == "img":
            assert b.path is not None
            out.append(f"![{b.text}]({b.path.relative_to(root).as_posix()})\n")
    return "\n".join(out)


def _inline_md(text: str) -> str:
    """Escape, then turn **bold** into <b>."""
    parts = html.escape(text).split("**")
    return "".join(f"<b>{p}</b>" if i % 2 else p for i, p in enumerate(parts))


def to_html(blocks: list[Block], title: str) -> str:
    """One HTML page with the images embedded (base64), readable offline."""
    body = []
    for b in blocks:
        if b.kind in ("h1", "h2"):
            body.append(f"<{b.kind}>{html.escape(b.text)}</{b.kind}>")
        elif b.kind == "p":
            body.append(f"<p>{_inline_md(b.text)}</p>")
        elif b.kind == "table":
            assert b.headers is not None and b.rows is not None
            head = "".join(f"<th>{html.escape(h)}</th>" for h in b.headers)
            rows = "".join(
                "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>"
                for r in b.rows
            )
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        elif b.kind == "img":
            assert b.path is not None
            data = base64.b64encode(b.path.read_bytes()).decode()
            body.append(f'<img alt="{html.escape(b.text)}" src="data:image/png;base64,{data}">')
    style = (
        "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;margin:0.5em 0 1.2em}"
        "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
        "td:first-child,th:first-child{text-align:left}th{background:#f3f3f3}"
        "img{max-width:100%}"
    )
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )
