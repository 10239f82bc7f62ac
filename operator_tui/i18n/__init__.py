"""The desk's languages: gettext catalogues in this folder, Russian by default.

Msgids are English. The language is process-wide because gettext is, and because the
whole terminal shows one language at a time; ``set_language`` switches it and the
screens re-render their text.
"""

from __future__ import annotations

import gettext
from pathlib import Path

DOMAIN = "zvonar_tui"
LOCALE_DIR = Path(__file__).resolve().parent
LANGUAGES: tuple[str, ...] = ("ru", "en", "uk")
DEFAULT_LANGUAGE = "ru"
LANGUAGE_NAMES = {"ru": "Русский", "en": "English", "uk": "Українська"}

_state: dict[str, object] = {"lang": DEFAULT_LANGUAGE, "tr": gettext.NullTranslations()}


def translations(lang: str) -> gettext.NullTranslations:
    """The compiled catalogue of ``lang`` (ValueError for a language the desk does not have)."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; choose one of {', '.join(LANGUAGES)}")
    return gettext.translation(DOMAIN, localedir=str(LOCALE_DIR), languages=[lang], fallback=False)


def set_language(lang: str) -> None:
    """Make ``lang`` the language of every text the desk shows from now on."""
    _state["tr"] = translations(lang)
    _state["lang"] = lang


def current_language() -> str:
    return str(_state["lang"])


def next_language(lang: str) -> str:
    """The language after ``lang`` in the switch order (ru -> en -> uk -> ru)."""
    return LANGUAGES[(LANGUAGES.index(lang) + 1) % len(LANGUAGES)] if lang in LANGUAGES else DEFAULT_LANGUAGE


def _(msgid: str) -> str:
    """The translation of ``msgid`` in the current language."""
    tr = _state["tr"]
    assert isinstance(tr, gettext.NullTranslations)
    return tr.gettext(msgid)


def N_(msgid: str) -> str:
    """Marks a msgid for the catalogues where it is translated later (binding labels, tables)."""
    return msgid


try:
    set_language(DEFAULT_LANGUAGE)
except OSError:  # the catalogues are being rebuilt: msgids show until they are back
    pass
