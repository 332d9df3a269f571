"""What each capability means, in one line: the wizard's checklist headings, `list` and `show`.

A capability is a template's free-form category in catalog.yaml; these are the ones the
built-in catalog uses (and a team catalog likely shares). Any other word is accepted and
described as the team's own.
"""

from __future__ import annotations

CAPABILITIES = {
    "logging": "ships the app's log files from a shared volume to an aggregator (or stdout)",
    "proxy": "takes the app's traffic first (TLS, routing, health) and forwards it on localhost",
    "metrics": "turns what the app reports into metrics Prometheus scrapes",
    "telemetry": "receives the app's traces, metrics and logs (OTLP) on localhost and exports them",
    "configuration": "keeps files the app reads up to date in a shared volume, read-only for the app",
    "secrets": "fetches secrets into an in-memory volume the app reads; nothing lands in the manifests",
    "security": "authenticates and authorizes requests before they reach the app",
    "database": "gives the app its database on localhost (pooling, credentials, TLS)",
}


def describe(capability: str) -> str:
    """The one-line meaning of a capability; a word of a team's own gets a plain fallback."""
    return CAPABILITIES.get(capability, "a capability of this catalog's own")
