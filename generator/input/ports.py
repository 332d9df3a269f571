"""The port ledger: which ports of the pod are taken, and by whom. parse_spec and the
wizard both walk the chosen sidecars through it, so they refuse the same clash with the
same words. Numbers come from the typed catalog (a number, or a parameter looked up),
so nothing is rendered here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from generator.catalog.loader import Template


@dataclass(frozen=True, slots=True)
class Claim:
    number: int
    protocol: str
    port_name: str
    param: str | None  # the port parameter that sets the number; None: fixed by the template


@dataclass(frozen=True, slots=True)
class Clash:
    number: int
    protocol: str
    port_name: str
    owner: str  # "the app" or "sidecar 'envoy'"
    param: str | None

    @property
    def reason(self) -> str:
        return (f"port {self.number}/{self.protocol} ({self.port_name}) is already taken by "
                f"{self.owner}")


def claims_of(template: Template, context: Mapping[str, Any]) -> list[Claim]:
    """The ports a sidecar listens on, with its parameters (and the app) in `context`."""
    return [Claim(port.resolve(context), port.protocol, port.name,
                  getattr(port.number, "param", None)) for port in template.definition.ports]


def owner_of(sidecar: str) -> str:
    return f"sidecar {sidecar!r}"


class PortLedger:
    """The ports taken so far; the app's own port first."""

    def __init__(self, app_port: int) -> None:
        self._taken: dict[tuple[int, str], str] = {(app_port, "TCP"): "the app"}

    def clashes(self, owner: str, claims: list[Claim]) -> list[Clash]:
        """The claims already taken, by the ledger or by an earlier claim in the list; the
        ledger is left as it was."""
        taken = dict(self._taken)
        found = []
        for claim in claims:
            key = (claim.number, claim.protocol)
            if key in taken:
                found.append(Clash(claim.number, claim.protocol, claim.port_name, taken[key], claim.param))
            else:
                taken[key] = owner
        return found

    def claim(self, owner: str, claims: list[Claim]) -> None:
        """Take every claim still free for `owner`."""
        for claim in claims:
            self._taken.setdefault((claim.number, claim.protocol), owner)
