"""Reading Asterisk channel names, dial strings and caller IDs (pure string work).

Channel names look like ``PJSIP/201-0000000a``, ``SIP/trunk-00000003`` or
``Local/201@queue-agents-0000001a;1``; the part before the ``-<8 hex>`` suffix is
the interface a queue member or an Originate names (``PJSIP/201``,
``Local/201@queue-agents``).
"""

from __future__ import annotations

_HEX = frozenset("0123456789abcdefABCDEF")
UNKNOWN_CALLER = frozenset({"", "<unknown>", "<Unknown>", "unknown"})


def clean_caller(value: object) -> str | None:
    """A caller ID number/name, or None for Asterisk's placeholders."""
    if not isinstance(value, str) or value in UNKNOWN_CALLER:
        return None
    return value


def is_local(name: str) -> bool:
    """True for a Local channel or Local dial string."""
    return name[:6].lower() == "local/"


def local_half(name: str) -> str | None:
    """``"1"`` or ``"2"`` for a Local channel half, else None."""
    if name[-2:-1] == ";" and name[-1:] in ("1", "2") and is_local(name):
        return name[-1]
    return None


def local_partner_name(name: str) -> str | None:
    """The other half of a Local channel (``...;1`` <-> ``...;2``)."""
    half = local_half(name)
    if half is None:
        return None
    return name[:-1] + ("2" if half == "1" else "1")


def interface_of(channel: str) -> str:
    """Channel name without its ``-<hex>`` sequence suffix and Local ``;N`` half."""
    base = channel
    if base[-2:-1] == ";" and base[-1:].isdigit():
        base = base[:-2]
    dash = base.rfind("-")
    if dash > base.find("/") >= 0:
        tail = base[dash + 1 :]
        if len(tail) >= 8 and all(c in _HEX for c in tail):
            base = base[:dash]
    return base


def extension_of(interface: str | None) -> str | None:
    """The extension an interface or dial string addresses.

    ``Local/201@queue-agents`` -> ``201``, ``PJSIP/202`` -> ``202``,
    ``SIP/trunk/79161234567`` -> ``79161234567``, ``PJSIP/trunk/sip:+7916@host`` -> ``+7916``.
    """
    if not interface:
        return None
    rest = interface.split("/", 1)[1] if "/" in interface else interface
    rest = rest.split(",", 1)[0]
    if is_local(interface):
        # Local/<exten>@<context>[/n]
        return rest.split("@", 1)[0] or None
    if "/" in rest:
        # <endpoint or trunk>/<number or URI>: the part after the first slash is dialled.
        rest = rest.split("/", 1)[1]
    if rest[:4].lower() == "sip:":
        rest = rest[4:]
    elif rest[:5].lower() == "sips:":
        rest = rest[5:]
    rest = rest.split("@", 1)[0].split(";", 1)[0]
    return rest or None


def dial_target(tech_or_channel: str, dial_string: str) -> str:
    """Normalised ``tech/resource`` key of what was dialled (matches Originate ``Channel``)."""
    tech = tech_or_channel.split("/", 1)[0]
    return f"{tech.lower()}/{dial_string}"


def normalise_target(channel: str) -> str:
    """Normalised key of an Originate ``Channel`` (dial string or live channel name)."""
    if "/" not in channel:
        return channel
    tech, rest = channel.split("/", 1)
    return f"{tech.lower()}/{rest}"


def parse_caller_id(value: str | None) -> tuple[str | None, str | None]:
    """Split an Originate CallerID (``"Name" <number>``, ``Name <n>``, ``n``) into (name, number)."""
    if not value:
        return None, None
    text = value.strip()
    if text.endswith(">") and "<" in text:
        lt = text.rfind("<")
        number = text[lt + 1 : -1].strip() or None
        name = text[:lt].strip()
        if len(name) >= 2 and name[0] == '"' and name[-1] == '"':
            name = name[1:-1]
        return (name or None), number
    if text.startswith('"') and text.endswith('"') and len(text) >= 2:
        return text[1:-1] or None, None
    if any(c.isdigit() for c in text) and all(c.isdigit() or c in "+*#-" for c in text):
        return None, text
    return text, None


def looks_like_number(value: str | None) -> bool:
    """A dialable phone number (``+79161234567``, ``380671234567``), not ``s`` or a pattern."""
    if not value:
        return False
    digits = value[1:] if value[0] == "+" else value
    return len(digits) >= 3 and digits.isdigit()
