"""The ``--help`` of every command line: plain text, defaults shown, examples kept as written.

    parser = Parser("saccade-view", description=..., epilog=...)   # experiments.cliconfig.Parser uses it

:class:`HelpFormatter` wraps each paragraph of the description and epilog but keeps indented
lines (command examples) as they are, removes reStructuredText markup (double backquotes,
``:func:`` and friends) so docstrings can serve as help, and adds ``(default: ...)`` to every
option whose default means something (not None, False or an empty list) and whose help does not
state its default already. :func:`plain` is the markup filter alone.
"""

from __future__ import annotations

import argparse
import re
import textwrap

__all__ = ["HelpFormatter", "plain", "RST_MARKUP"]

RST_MARKUP = re.compile(r"``|(?<![\w*])\*\*\w[^*]*?\*\*(?![\w*])|:(?:func|class|meth|mod|attr|data|obj|exc|ref|doc):`")
"""What :func:`plain` removes (tests use it to check that no help shows markup)."""

_STRONG = re.compile(r"(?<![\w*])\*\*(\w[^*]*?\w|\w)\*\*(?![\w*])")  # **bold**, not 2**31
_ROLE = re.compile(r":(?:func|class|meth|mod|attr|data|obj|exc|ref|doc):`~?([^`]+)`")


def plain(text: str) -> str:
    """``text`` without reStructuredText markup: ``x``, **x** and :func:`x` become x."""
    return _STRONG.sub(r"\1", _ROLE.sub(r"\1", text)).replace("``", "")


def _shown(default: object) -> str:
    if isinstance(default, (list, tuple)):
        return " ".join(map(str, default))
    return str(default)


class HelpFormatter(argparse.HelpFormatter):
    """Plain-text help with defaults shown (module docstring)."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        out = []
        for para in re.split(r"\n\s*\n", textwrap.dedent(plain(text)).strip("\n")):
            lines = para.splitlines()
            if any(line.startswith(" ") for line in lines):  # examples: as written
                out.append("\n".join(indent + line for line in lines))
            else:
                out.append(textwrap.fill(" ".join(line.strip() for line in lines), width,
                                         initial_indent=indent, subsequent_indent=indent))
        return "\n\n".join(out)

    def _get_help_string(self, action: argparse.Action) -> str:
        text = plain(action.help or "")
        default = action.default
        if (not action.option_strings or default is None or default is False or default is argparse.SUPPRESS
                or (isinstance(default, (list, tuple)) and not default) or "default" in text.lower()):
            return text
        return f"{text} (default: {_shown(default).replace('%', '%%')})".strip()
