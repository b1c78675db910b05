"""MkDocs hooks: pull files from outside docs/ into pages at build time.

``<!-- include: path/from/repo/root.md -->`` in a page is replaced by that file's text,
its headings moved one level down and its relative links turned into plain text (they
point into the repository, not into the site). A missing file becomes a note saying so,
so the site builds before every part of the project has been written.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

_INCLUDE = re.compile(r"<!--\s*include:\s*(\S+)\s*-->")
_LINK = re.compile(r"(?<!!)\[([^\]]+)\]\((?!https?://|#|mailto:)([^)]+)\)")
_IMAGE = re.compile(r"!\[([^\]]*)\]\((?!https?://)([^)]+)\)")


def _included(path: Path) -> str:
    if not path.is_file():
        return (f'!!! note "Not measured yet"\n    `{path.name}` does not exist in this checkout; '
                "run `make bench` to produce it.\n")
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"^(#+) ", r"#\1 ", text, flags=re.M)
    text = _IMAGE.sub(r"*(image: \2)*", text)
    return _LINK.sub(r"\1 (`\2`)", text)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    root = Path(config["config_file_path"]).parent
    return _INCLUDE.sub(lambda m: _included(root / m.group(1)), markdown)
