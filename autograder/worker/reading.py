"""Reading student objects defensively: a student's ``__str__``, ``__class__`` or ``__eq__`` may lie or raise."""

from __future__ import annotations

MAX_TEXT = 300            # longest string copied from a student's object into a report
PLAIN_TYPES = (str, int, float, bool, type(None))


def text(value, limit: int = MAX_TEXT) -> str:
    """``str(value)`` cut short; an object whose ``__str__`` raises or lies about its type is a placeholder."""
    try:
        string = value if type(value) is str else str(value)
        if not isinstance(string, str):
            return "<not a string>"
        return str.__str__(string)[:limit]
    except BaseException:  # a student's __str__ may raise anything, SystemExit included
        return "<unprintable>"


def type_name(value) -> str:
    """``module.Qualname`` of the value's real class (``type()`` cannot be faked, ``__class__`` can)."""
    cls = type(value)
    try:
        return text(f"{text(type.__getattribute__(cls, '__module__'))}.{text(type.__getattribute__(cls, '__qualname__'))}")
    except BaseException:
        return "<unknown type>"


def plain(value):
    """A JSON scalar of exactly a built-in type, else the value's type name (never its own repr)."""
    if type(value) in PLAIN_TYPES:
        return value[:MAX_TEXT] if type(value) is str else value
    return {"not_plain": type_name(value)}


def builtin_name(value, namespace) -> str:
    """The class name when the value is an instance of exactly ``namespace.<name>``, else its full type name."""
    cls = type(value)
    name = type.__getattribute__(cls, "__name__")
    return name if getattr(namespace, name, None) is cls else type_name(value)
