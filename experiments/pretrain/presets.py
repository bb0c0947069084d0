"""The packaged presets' descriptions, whole (``saccade-pretrain --list-presets``).

A preset's description is its header: the comment lines at the top of its YAML file up to the
first indented command line (``#   saccade-pretrain --config ...``) or the first blank comment
line, joined into one paragraph.
"""

from __future__ import annotations

from pathlib import Path

from experiments.pretrain.config import PRESETS_DIR

__all__ = ["preset_description", "preset_descriptions", "preset_commands"]


def _header(path: Path) -> list[str]:
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        lines.append(line[1:])
    return lines


def preset_description(path: str | Path) -> str:
    """The description in the header of the preset file ``path`` (module docstring)."""
    words = []
    for text in _header(Path(path)):
        if text.startswith("  ") or not text.strip():  # a command line, or the end of the paragraph
            if words:
                break
            continue
        words.append(text.strip())
    return " ".join(words)


def preset_commands(path: str | Path) -> list[str]:
    """The command lines in the header of the preset file ``path`` (the indented comment lines)."""
    return [text.strip() for text in _header(Path(path)) if text.startswith("  ") and text.strip()]


def preset_descriptions() -> list[tuple[str, str]]:
    """``(name, whole description)`` of every packaged preset, sorted by name."""
    return [(path.stem, preset_description(path)) for path in sorted(PRESETS_DIR.glob("*.yaml"))]
