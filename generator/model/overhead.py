"""What the sidecars cost: their requests and limits summed per resource (cpu, memory,
ephemeral storage) beside the app's and the pod's, and the budget a catalog allows them.

Requests are what the scheduler reserves on a node for every replica, so sidecars that ask
for more than the app waste capacity (or, squeezed below their needs, starve it). The budget
is on requests: by default the sidecars together may request at most half of what the app
requests, per resource (a catalog sets its own with `overhead_budget:` in catalog.yaml).
The figures are Kubernetes': ephemeral-storage limits include the emptyDirs each container
writes (model/budget.py); Compose's memory limits also hold tmpfs volumes, not counted here.
The namespace holder exists only in Compose and is not counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

from generator import rules

RESOURCES = ("cpu", "memory", "ephemeral-storage")
DEFAULT_BUDGET = 50  # percent of the app's request, per resource


@dataclass(frozen=True, slots=True)
class Use:
    """One resource: the app's and the sidecars' requests and limits (cores or bytes)."""

    resource: str
    app_request: float
    app_limit: float
    sidecars_request: float
    sidecars_limit: float
    budget: int  # percent of the app's request the sidecars may request

    @property
    def pod_request(self) -> float:
        return self.app_request + self.sidecars_request

    @property
    def pod_limit(self) -> float:
        return self.app_limit + self.sidecars_limit

    @property
    def percent(self) -> float | None:
        """The sidecars' requests in percent of the app's; None when the app requests none."""
        return 100 * self.sidecars_request / self.app_request if self.app_request else None

    @property
    def over(self) -> bool:
        percent = self.percent
        return self.sidecars_request > 0 and (percent is None or percent > self.budget + 1e-9)


def budget_of(policy: Mapping[str, int] | Iterable[tuple[str, int]] = ()) -> dict[str, int]:
    """A catalog's policy (resource -> percent) with the default for what it leaves out."""
    return {**{resource: DEFAULT_BUDGET for resource in RESOURCES}, **dict(policy)}


def overhead(app: Mapping[str, Mapping[str, str]], sidecars: Iterable[Mapping[str, Mapping[str, str]]],
             policy: Mapping[str, int] | Iterable[tuple[str, int]] = ()) -> tuple[Use, ...]:
    """Per resource, from containers' {"requests": {...}, "limits": {...}} (quantity strings:
    a Kubernetes container's resources as written, so `check` reads the output the same way)."""
    budget = budget_of(policy)
    sidecars = list(sidecars)
    return tuple(Use(resource,
                     _value(app, "requests", resource), _value(app, "limits", resource),
                     sum(_value(s, "requests", resource) for s in sidecars),
                     sum(_value(s, "limits", resource) for s in sidecars),
                     budget[resource])
                 for resource in RESOURCES)


def of_pod(pod) -> tuple[Use, ...]:
    """The pod's figures against its catalog's budget (a model.pod.Pod)."""
    def resources(container) -> dict[str, dict[str, str]]:
        return {"requests": dict(container.requests), "limits": dict(container.limits)}
    return overhead(resources(pod.app), [resources(c) for c in pod.sidecars], pod.overhead_budget)


def _value(container: Mapping[str, Mapping[str, str]], part: str, resource: str) -> float:
    value = rules.quantity_value((container.get(part) or {}).get(resource, "0"))
    return value or 0.0


def shown(resource: str, value: float) -> str:
    """cpu as millicores or cores, bytes as Mi or Gi (one decimal where not whole)."""
    if resource == "cpu":
        milli = value * 1000
        return f"{milli:.0f}m" if abs(milli - round(milli)) < 1e-6 and milli < 1000 else f"{value:g}"
    mebi = value / 2**20
    if mebi >= 1024:
        return f"{mebi / 1024:.1f}Gi".replace(".0Gi", "Gi")
    return f"{mebi:.1f}Mi".replace(".0Mi", "Mi")


def table(uses: tuple[Use, ...]) -> list[str]:
    """The figures as lines (the picture and so the README, --dry-run, check)."""
    lines = ["sidecar overhead, app + sidecars = pod; the sidecars' requests in % of the app's:"]
    for use in uses:
        def sums(a: float, b: float) -> str:
            return f"{shown(use.resource, a)} + {shown(use.resource, b)} = {shown(use.resource, a + b)}"
        percent = "-" if use.percent is None else f"{use.percent:.0f}%"
        verdict = f"over the {use.budget}% budget" if use.over else f"budget {use.budget}%"
        lines.append(f"  {use.resource:<18} requests {sums(use.app_request, use.sidecars_request):<24}"
                     f"limits {sums(use.app_limit, use.sidecars_limit):<24}{percent}, {verdict}")
    return lines


def warnings(uses: tuple[Use, ...]) -> list[str]:
    """One line per resource over budget, naming the figures."""
    return [f"{u.resource}: the sidecars request {shown(u.resource, u.sidecars_request)}, "
            + (f"{u.percent:.0f}% of the app's {shown(u.resource, u.app_request)}" if u.percent is not None
               else "and the app requests none")
            + f", over the catalog's budget of {u.budget}%"
            for u in uses if u.over]


def brief(uses: tuple[Use, ...]) -> str:
    """One line for the wizard's summary: each resource's share, and the verdict."""
    shares = ", ".join(f"{u.resource.split('-')[0]} {'-' if u.percent is None else f'{u.percent:.0f}%'}"
                       f"{'!' if u.over else ''}" for u in uses)
    over = [u for u in uses if u.over]
    return (f"sidecars request {shares} of the app's"
            + (f" (! over the budget of {', '.join(sorted({f'{u.budget}%' for u in over}))})" if over else ""))
