"""The typed parts of a template definition that the request stage reads before any
rendering: a port number is a number or a plain reference to a port parameter (or to
the app's port), resolved by lookup, never by Jinja."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

# {{ name }} or {{ app.key }}, nothing else: what a port may hold besides a number.
_REFERENCE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)\s*\}\}")
APP_PORT_KEYS = ("port",)  # the app values a template's port may name, as app.<key>


@dataclass(frozen=True, slots=True)
class Ref:
    """`{{ path }}`: a template parameter, or `app.<key>`, looked up in the render context."""

    path: str

    def resolve(self, context: Mapping[str, Any]) -> Any:
        value: Any = context
        for name in self.path.split("."):
            value = value[name]
        return value

    @property
    def param(self) -> str | None:
        """The template parameter it names; None for an app value."""
        return None if "." in self.path else self.path

    def __str__(self) -> str:
        return "{{ " + self.path + " }}"


@dataclass(frozen=True, slots=True)
class PortDef:
    name: str
    number: int | Ref
    protocol: str = "TCP"
    public: bool = False
    scrape_path: str | None = None  # may hold {{ }}: expanded with the rest of the definition

    def resolve(self, context: Mapping[str, Any]) -> int:
        return self.number.resolve(context) if isinstance(self.number, Ref) else self.number


def port_number(value: Any, port_params: set[str]) -> int | Ref:
    """A port's number as written in sidecar.yaml, or ValueError with the reason (one line)."""
    if isinstance(value, str):
        match = _REFERENCE.fullmatch(value.strip())
        if not match:
            raise ValueError(f"{value!r} must be a number or a plain parameter reference such as "
                             "'{{ listen_port }}' (ports take no other Jinja)")
        ref = Ref(match[1])
        if ref.param is None and ref.path.removeprefix("app.") not in APP_PORT_KEYS:
            raise ValueError(f"{value!r} names no app port (app.port is the one)")
        if ref.param is not None and ref.param not in port_params:
            known = ", ".join(sorted(port_params)) or "none"
            raise ValueError(f"{value!r} names no port parameter of this template (type: port; "
                             f"known: {known})")
        return ref
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise ValueError(f"{value!r} is not a port (a whole number from 1 to 65535)")
    return value
