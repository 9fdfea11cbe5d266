"""Names and labels a reader's terminal prints: what a suite may contain and how output shows the rest.

A suite file or a store may come from someone else. Control characters (``ESC[2J`` clears a screen),
Unicode format characters (U+202E reverses the text after it) and line or paragraph separators in a name
would rewrite what the reader sees, so a suite refuses them at load (:func:`check_printable`), and every
report shows a name from a store through :func:`printable` (such characters as visible escapes) and, in
markdown, :func:`markdown_cell` (a ``|`` would shift the table's columns).
"""

from __future__ import annotations

import unicodedata

#: Unicode categories never allowed in a name: controls, format characters (bidirectional overrides,
#: zero-width), line and paragraph separators, surrogates and unassigned code points
UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})


def first_unsafe(text: str) -> int | None:
    """The position of the first character a terminal would act on rather than show, or None."""
    for i, ch in enumerate(text):
        if unicodedata.category(ch) in UNSAFE_CATEGORIES:
            return i
    return None


def check_printable(text: str, what: str) -> str | None:
    """None if ``text`` prints as itself, else a one-line reason naming ``what`` and the position."""
    i = first_unsafe(text)
    if i is None:
        return None
    return (f"{what} contains the control or formatting character U+{ord(text[i]):04X} at position {i + 1}; "
            "names and labels must be printable text")


def printable(text: str) -> str:
    """``text`` with every unsafe character shown as its escape (``\\x1b``, ``\\u202e``, ``\\n``)."""
    if first_unsafe(text) is None:
        return text
    return "".join(ch.encode("unicode_escape").decode("ascii") if unicodedata.category(ch) in UNSAFE_CATEGORIES
                   else ch for ch in text)


def markdown_cell(text: str) -> str:
    """A name inside a markdown table cell: printable, pipes escaped."""
    return printable(text).replace("|", "\\|")
