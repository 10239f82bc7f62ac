"""Keeping the catalogues in step with the code (a developer's tool; needs Babel, a dev dependency).

    python -m operator_tui.i18n.catalogs check     # every msgid of the code in every .po, translated; .mo up to date
    python -m operator_tui.i18n.catalogs update    # add new msgids to each .po (empty), drop ones the code lost
    python -m operator_tui.i18n.catalogs compile   # write each .mo from its .po

Msgids are found in the source by their markers: ``_("…")``, ``N_("…")``, ``Tr("…")``
and ``TrButton("…")`` (a conditional expression of two literals counts both).
"""

from __future__ import annotations

import ast
import gettext
import io
import sys
from pathlib import Path

from operator_tui.i18n import DOMAIN, LANGUAGES, LOCALE_DIR

PACKAGE_DIR = LOCALE_DIR.parent
MARKERS = {"_", "N_", "Tr", "TrButton"}


def _literals(node: ast.expr) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _literals(node.body) + _literals(node.orelse)
    return []


def extract(package_dir: Path = PACKAGE_DIR) -> dict[str, list[str]]:
    """Every msgid in the package's source, with where it occurs (``file:line``)."""
    found: dict[str, list[str]] = {}
    for path in sorted(package_dir.rglob("*.py")):
        tree = ast.parse(path.read_text("utf-8"), str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else None
            if name not in MARKERS:
                continue
            for msgid in _literals(node.args[0]):
                found.setdefault(msgid, []).append(f"{path.relative_to(package_dir.parent)}:{node.lineno}")
    return found


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.mo"


def read_po(path: Path) -> dict[str, str]:
    """msgid -> msgstr of a .po file (the header left out)."""
    from babel.messages.pofile import read_po as babel_read_po

    with path.open("rb") as f:
        catalog = babel_read_po(f)
    return {str(m.id): str(m.string or "") for m in catalog if m.id}


def read_mo(path: Path) -> dict[str, str]:
    """msgid -> msgstr of a compiled catalogue, as gettext itself reads it."""
    with path.open("rb") as f:
        tr = gettext.GNUTranslations(f)
    return {k: v for k, v in tr._catalog.items() if isinstance(k, str) and k}  # type: ignore[attr-defined]


def compile_po(lang: str) -> None:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po as babel_read_po

    with po_path(lang).open("rb") as f:
        catalog = babel_read_po(f, locale=lang)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    mo_path(lang).write_bytes(buffer.getvalue())


def update(lang: str, msgids: dict[str, list[str]]) -> None:
    """Bring ``lang``'s .po in step with the code: new msgids added untranslated, lost ones dropped."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import read_po as babel_read_po
    from babel.messages.pofile import write_po

    path = po_path(lang)
    old: dict[str, str] = {}
    if path.exists():
        with path.open("rb") as f:
            old = {str(m.id): str(m.string or "") for m in babel_read_po(f) if m.id}
    catalog = Catalog(locale=lang, domain=DOMAIN, project="Zvonar operator desk", charset="utf-8")
    for msgid, places in sorted(msgids.items()):
        string = old.get(msgid, msgid if lang == "en" else "")
        catalog.add(msgid, string, locations=[(p.rsplit(":", 1)[0], int(p.rsplit(":", 1)[1])) for p in places])
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=100, omit_header=False, sort_output=True)
    path.write_bytes(buffer.getvalue())


def problems() -> list[str]:
    """What is out of step: missing or untranslated msgids, and .mo files that differ from their .po."""
    wanted = extract()
    out = []
    for lang in LANGUAGES:
        po = read_po(po_path(lang))
        for msgid in sorted(set(wanted) - set(po)):
            out.append(f"{lang}: msgid missing from the .po: {msgid!r} ({wanted[msgid][0]})")
        for msgid in sorted(m for m in wanted if m in po and not po[m]):
            out.append(f"{lang}: msgid not translated: {msgid!r}")
        if not mo_path(lang).exists() or read_mo(mo_path(lang)) != {k: v for k, v in po.items() if v}:
            out.append(f"{lang}: the .mo does not match the .po (run: python -m operator_tui.i18n.catalogs compile)")
    return out


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "update":
        msgids = extract()
        for lang in LANGUAGES:
            update(lang, msgids)
        print(f"{len(msgids)} msgids in {', '.join(LANGUAGES)}")
        return 0
    if command == "compile":
        for lang in LANGUAGES:
            compile_po(lang)
        return 0
    found = problems()
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
