"""Japanese / English messages.

The kit speaks both languages. Library errors (the loader, the stubs) are raised where nobody
chose a language, so they carry both; tools that print reports take ``--lang`` and otherwise
follow the locale.
"""

from __future__ import annotations

import locale
import os

LANGUAGES = ("ja", "en")


def bilingual(ja: str, en: str) -> str:
    """One message in both languages, Japanese first: the handouts are Japanese."""
    return f"{ja}\n{en}"


def current_language(explicit: str | None = None) -> str:
    """``explicit`` if given, else ``MNIST_TASKS_LANG``, else the locale; English by default."""
    for candidate in (explicit, os.environ.get("MNIST_TASKS_LANG")):
        if candidate:
            if candidate not in LANGUAGES:
                raise ValueError(bilingual(
                    f"言語は {' / '.join(LANGUAGES)} のいずれかです: {candidate!r}",
                    f"language must be one of {', '.join(LANGUAGES)}: {candidate!r}",
                ))
            return candidate
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name)
        if value:
            return "ja" if value.lower().startswith("ja") else "en"
    try:
        code = locale.getlocale()[0] or ""
    except ValueError:
        code = ""
    return "ja" if code.lower().startswith("ja") else "en"
