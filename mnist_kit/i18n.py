"""Japanese / English messages.

The kit speaks both languages. Library errors (the loader, the stubs) are raised where nobody
chose a language, so they carry both; tools that print reports take ``--lang`` and otherwise
follow the locale.
"""

from __future__ import annotations

import locale
import os
from dataclasses import dataclass

LANGUAGES = ("ja", "en")
# Where nothing says otherwise (no --lang, no MNIST_TASKS_LANG, no Japanese or other locale), the
# kit speaks English; the course's notebooks set Japanese themselves (autograder.nbgrader.cells).
DEFAULT_LANGUAGE = "en"


@dataclass(frozen=True)
class Text:
    """A message in both of the kit's languages; ``get(language)`` picks one."""
    ja: str
    en: str

    def get(self, language: str) -> str:
        return self.ja if language == "ja" else self.en

    def __add__(self, other: "Text") -> "Text":
        return Text(self.ja + other.ja, self.en + other.en)

    def both(self) -> str:
        """Japanese first, then English: for messages raised where nobody chose a language."""
        return bilingual(self.ja, self.en)


# A record meant for people (results.json, each of its tests) keeps its words in every language
# under this key, so that whoever presents it picks the language then, not whoever made it:
#     {"languages": {"ja": {"title": "…", "output": "…"}, "en": {"title": "…", "output": "…"}}, ...}
IN_EVERY_LANGUAGE = "languages"
Words = dict[str, dict[str, str]]   # language → field → words: the value under IN_EVERY_LANGUAGE


def in_every_language(**fields: Text) -> Words:
    """The fields' words in every language of the kit, for a record's ``IN_EVERY_LANGUAGE``."""
    return {language: {name: text.get(language) for name, text in fields.items()} for language in LANGUAGES}


def in_language(record: dict, language: str) -> dict:
    """``record`` with the fields it keeps in every language (``IN_EVERY_LANGUAGE``) in ``language``;
    as it is when it keeps none."""
    return {**record, **record.get(IN_EVERY_LANGUAGE, {}).get(language, {})}


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
    return "ja" if code.lower().startswith("ja") else DEFAULT_LANGUAGE
