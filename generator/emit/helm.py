"""Helm emitter: chart/ from the chart model, the same objects as the kustomize base with every
sidecar behind `sidecars.<name>.enabled` and its parameters read from the values.

The objects are the Kubernetes emitter's own (container_spec, security context, probes), so the
chart and the base agree by construction; what the values change is written in as Go template
actions: Symbols become value expressions, each sidecar's containers, volumes, ConfigMap, ports,
app env and drain sit inside its `if`, and the pod-level facts that depend on which sidecars run
(the app's place in the Service, the scraped port, the drain) are computed in the template.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from generator.emit.helm_files import chart_yaml, helmignore, helpers, notes
from generator.emit.helm_values import (SIDECAR_KEYS, camel, enabled, root, value, values_schema,
                                        values_yaml)
from generator.emit.helm_yaml import Block, Go, If, Items, document, go_string
from generator.emit.kubernetes import pod_volume
from generator.emit.kubernetes_containers import container_spec, env_entry
from generator.emit.targets import KubernetesTarget
from generator.errors import RenderError
from generator.model.chart import Chart, ChartSidecar
from generator.model.pod import APP_DRAIN, SHUTDOWN
from generator.model.symbolic import Slot, Symbol, has_marker, split
from generator.output.fileset import FileSet
from generator.output.naming import CHECKSUM_ANNOTATION, config_key

CHART_DIR = "chart"
# Any version at or above a minor's first release, pre-releases included (EKS/GKE "-eks" tags).
NATIVE_SIDECARS = '>=1.29-0'
PRESTOP_SLEEP = '>=1.30-0'


def emit_helm(chart: Chart) -> FileSet:
    _check_keys(chart)
    name = chart.pod.name
    writer = _Writer(chart)
    templates = {
        "serviceaccount.yaml": writer.service_account(),
        "configmaps.yaml": writer.config_maps(),
        "deployment.yaml": writer.deployment(),
        "service.yaml": writer.service(),
        "networkpolicy.yaml": writer.network_policy(),
        "poddisruptionbudget.yaml": writer.disruption_budget(),
        "namespace.yaml": writer.namespace(),
        "_helpers.tpl": helpers(name, APP_DRAIN, [(s.name, writer.operand(s.drain) if isinstance(s.drain, Symbol)
                                                  else str(s.drain)) for s in chart.sidecars]),
        "_config.tpl": writer.config_files(),
        "NOTES.txt": notes(chart),
    }
    files = {f"{CHART_DIR}/templates/{path}": text for path, text in templates.items()}
    files.update({f"{CHART_DIR}/Chart.yaml": chart_yaml(chart), f"{CHART_DIR}/values.yaml": values_yaml(chart),
                  f"{CHART_DIR}/values.schema.json": values_schema(chart), f"{CHART_DIR}/.helmignore": helmignore()})
    for path, text in files.items():
        if "\ue000" in text or "\ue001" in text:  # pragma: no cover - a Symbol left untranslated
            raise RenderError(f"{path}: a template parameter was left untranslated")
    return {path: text.encode() for path, text in files.items()}


def _check_keys(chart: Chart) -> None:
    for sidecar in chart.sidecars:
        seen: dict[str, str] = {}
        for param in sidecar.params:
            key = camel(param.name)
            clash = key if key in SIDECAR_KEYS else seen.get(key) and key
            if clash:
                raise RenderError(f"sidecars.{sidecar.name}.{key}: template parameter {param.name!r} clashes with "
                                  "another chart value of that name; the helm target cannot render this template")
            seen[key] = param.name


def _any(conditions: list[str]) -> str:
    if not conditions:
        return "false"
    return conditions[0] if len(conditions) == 1 else f"(or {' '.join(conditions)})"


def _not(condition: str) -> str:
    return {"false": "true", "true": "false"}.get(condition, f"(not {condition})")


class _Writer:
    def __init__(self, chart: Chart) -> None:
        self.chart, self.pod, self.name = chart, chart.pod, chart.pod.name
        self.fullname = f'include "{self.name}.fullname" .'
        self.ns = f'include "{self.name}.namespace" .'
        fronting = [enabled(s.name) for s in chart.sidecars if s.fronts_app]
        self.fronted = _any(fronting)
        # Each sidecar's first scraped port (the base annotates the pod's first one).
        self.scrapers = [(s, next(p for p in s.container.ports if p.scrape_path))
                         for s in chart.sidecars if any(p.scrape_path for p in s.container.ports)]
        app_scraped = "false" if not chart.metrics_path else _not(_any([enabled(s.name) for s, _ in self.scrapers]))
        self.app_public = _not(self.fronted)
        self.app_allowed = self.app_public if app_scraped == "false" else f"(or {self.app_public} {app_scraped})"

    # --- values in templates ---------------------------------------------------------------
    def operand(self, symbol: Symbol) -> str:
        return value(symbol, self.name)

    def field(self, x: Any) -> Any:
        """A container field as the chart writes it: Symbols and marker text as Go actions."""
        if isinstance(x, Symbol):
            if x.type == "bool" or x.type in ("int", "port") or x.derived:
                return Go(self.operand(x))
            return Go(f"{self.operand(x)} | toJson")
        if isinstance(x, str) and has_marker(x):
            return Go(self._printf(split(x, self.chart.symbols)) + " | toJson")
        if isinstance(x, dict):
            return {k: self.field(v) for k, v in x.items()}
        if isinstance(x, list):
            return [self.field(v) for v in x]
        return x

    def _printf(self, parts: tuple) -> str:
        form, args = [], []
        for part in parts:
            if isinstance(part, str):
                form.append(part.replace("%", "%%"))
            else:
                form.append("%v")
                args.append(self._text_operand(part.symbol))
        return f"printf {go_string(''.join(form))} {' '.join(args)}".rstrip()

    def env_value(self, text: str) -> Any:
        """An env value as the base writes it: every $ doubled (kubelet reads $$ as $), values too."""
        if not has_marker(text):
            return text.replace("$", "$$")
        form, args = [], []
        for part in split(text, self.chart.symbols):
            if isinstance(part, str):
                form.append(part.replace("$", "$$").replace("%", "%%"))
            else:
                text_like = part.symbol.type not in ("int", "port", "bool") and not part.symbol.derived
                form.append("%s" if text_like else "%v")
                args.append(f'({self.operand(part.symbol)} | replace "$" "$$")' if text_like
                            else self._text_operand(part.symbol))
        return Go(f"printf {go_string(''.join(form))} {' '.join(args)} | toJson")

    def _text_operand(self, symbol: Symbol) -> str:
        """What Python's str() writes: True/False for a bool."""
        operand = self.operand(symbol)
        return f'(ternary "True" "False" {operand})' if symbol.type == "bool" else operand

    def meta(self, suffix: str = "") -> dict[str, Any]:
        name = Go(self.fullname) if not suffix else Go(f'printf "%s-{suffix}" ({self.fullname})')
        return {"name": name, "namespace": Go(self.ns),
                "labels": Block(f'include "{self.name}.labels" .')}

    def selector(self) -> Block:
        return Block(f'include "{self.name}.selectorLabels" .')

    # --- objects ---------------------------------------------------------------------------
    def namespace(self) -> str:
        security = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "warn", "audit")}
        doc = {"apiVersion": "v1", "kind": "Namespace",
               "metadata": {"name": Go(self.ns),
                            "labels": {Block(f'include "{self.name}.labels" .'): None, **security}}}
        return _when(".Values.createNamespace", document(doc))

    def service_account(self) -> str:
        return document({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": self.meta(),
                         "automountServiceAccountToken": False})

    def config_maps(self) -> str:
        docs = []
        for sidecar in self.chart.sidecars:
            if not sidecar.files:
                continue
            data = {config_key(path): Go(f'include "{self._config_name(sidecar, path)}" . | toRawJson')
                    for path, _ in sidecar.files}
            doc = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": self.meta(f"{sidecar.name}-config"),
                   "data": data}
            docs.append(_when(enabled(sidecar.name), "---\n" + document(doc)))
        return "".join(docs)

    def _config_name(self, sidecar: ChartSidecar, path: str) -> str:
        return f"{self.name}.config.{sidecar.name}/{path}"

    def config_files(self) -> str:
        """Each config file as a named template: the sidecar's file, its parameters as values."""
        out = ["{{- /* The sidecars' config files, rendered from the values; configmaps.yaml holds them. */ -}}\n"]
        for sidecar in self.chart.sidecars:
            for path, parts in sidecar.files:
                text = self._go_text(parts)
                # The text starts right after the define: nothing of it is trimmed.
                out.append(f'{{{{- define "{self._config_name(sidecar, path)}" }}}}{text}{{{{ end }}}}\n')
        return "".join(out)

    def _go_text(self, parts: tuple) -> str:
        out = []
        for part in parts:
            if isinstance(part, str):
                out.append(_literal(part))
            elif isinstance(part, Slot):
                out.append("{{ " + self._slot(part) + " }}")
            else:
                out.append(f"{{{{ if {self._test(part.test)} }}}}{self._go_text(part.then)}")
                if part.otherwise:
                    out.append(f"{{{{ else }}}}{self._go_text(part.otherwise)}")
                out.append("{{ end }}")
        return "".join(out)

    def _slot(self, slot: Slot) -> str:
        symbol = slot.symbol
        if slot.mode == "s" and symbol.type not in ("int", "port", "bool") and not symbol.derived:
            # Inside a JSON string: escaped as JSON, without the quotes toRawJson adds.
            return f'{self.operand(symbol)} | toString | toRawJson | trimPrefix "\\"" | trimSuffix "\\""'

        if slot.mode == "j" and symbol.type not in ("int", "port", "bool") and not symbol.derived:
            return f"{self.operand(symbol)} | toRawJson"
        return self._text_operand(symbol) if slot.mode != "j" else self.operand(symbol)

    def _test(self, test: Any) -> str:
        op, args = test.op, test.args
        if op == "sym":
            return self.operand(args[0])
        if op == "not":
            return f"(not {self._test(args[0])})"
        if op in ("and", "or"):
            return f"({op} {self._test(args[0])} {self._test(args[1])})"
        if op in ("eq", "ne"):
            constant = go_string(args[1]) if isinstance(args[1], str) else str(args[1]).lower()
            return f"({op} {self.operand(args[0])} {constant})"
        return "true" if args[0] else "false"

    def deployment(self) -> str:
        pod, chart = self.pod, self.chart
        native = f'include "{self.name}.nativeSidecars" .'
        spec: dict[Any, Any] = {
            "serviceAccountName": Go(self.fullname),
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "securityContext": {"runAsNonRoot": True, "runAsUser": pod.app.run_as, "runAsGroup": pod.app.group,
                                "fsGroup": pod.app.group, "seccompProfile": {"type": "RuntimeDefault"}},
            "terminationGracePeriodSeconds": Go(f'add (include "{self.name}.drain" .) {SHUTDOWN}'),
        }
        if pod.image_pull_secrets:  # as the base writes them (answers kubernetes.image_pull_secrets)
            spec["imagePullSecrets"] = [{"name": name} for name in pod.image_pull_secrets]
        if chart.sidecars:
            spec[If(f"and ({native}) {_any([enabled(s.name) for s in chart.sidecars])}",
                    {"initContainers": [If(enabled(s.name), [self.sidecar(s, native=True)]) for s in chart.sidecars]})] = None
        spec["containers"] = [self.app()]
        if chart.sidecars:
            spec["containers"].append(If(f"not ({native})",
                                         [If(enabled(s.name), [self.sidecar(s, native=False)]) for s in chart.sidecars]))
        spec["volumes"] = [self.volume(v) for v in pod.volumes if self._owner(v.name) is None]
        for sidecar in chart.sidecars:
            own = [self.volume(v) for v in pod.volumes if v.name in sidecar.volumes]
            if own:
                spec["volumes"].append(If(enabled(sidecar.name), own))
        annotations: dict[Any, Any] = {CHECKSUM_ANNOTATION: Go(
            'include (print $.Template.BasePath "/configmaps.yaml") . | sha256sum')}
        annotations.update(self._scrape_annotations())
        doc = {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": self.meta(),
            "spec": {
                "replicas": Go(".Values.replicas | int"),
                "revisionHistoryLimit": 5,
                "selector": {"matchLabels": self.selector()},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
                "template": {"metadata": {"labels": Block(f'include "{self.name}.labels" .'),
                                          "annotations": annotations},
                             "spec": spec},
            },
        }
        return document(doc)

    def _owner(self, volume: str) -> ChartSidecar | None:
        return next((s for s in self.chart.sidecars if volume in s.volumes), None)

    def volume(self, volume: Any) -> dict[str, Any]:
        if volume.secret is not None or volume.token is not None or volume.in_memory:
            return pod_volume(self.pod, volume, {})  # as rendered: their parameters are fixed (model/chart.py)
        if volume.config_of is None:
            return {"name": volume.name, "emptyDir": {"sizeLimit": volume.size}}
        sidecar = next(s for s in self.chart.sidecars if s.name == volume.config_of)
        source: dict[str, Any] = {"name": Go(f'printf "%s-{sidecar.name}-config" ({self.fullname})')}
        if any("/" in path for path, _ in sidecar.files):
            source["items"] = [{"key": config_key(path), "path": path} for path, _ in sidecar.files]
        return {"name": volume.name, "configMap": source}

    def _scrape_annotations(self) -> dict[Any, Any]:
        """prometheus.io/* name one port a pod: the first enabled sidecar's scraped port, else the
        app's metrics path (as the base decides it for the sidecars it has)."""
        def annotations(port_number: Any, path: str) -> dict[str, Any]:
            return {"prometheus.io/scrape": "true", "prometheus.io/port": self.field(str(port_number)),
                    "prometheus.io/path": path}

        app_port = self.pod.app.ports[0]
        entries = annotations(app_port.number, self.chart.metrics_path) if self.chart.metrics_path else None
        for sidecar, port in reversed(self.scrapers):
            entries = {If(enabled(sidecar.name), annotations(port.number, port.scrape_path), entries): None}
        return entries or {}

    def app(self) -> dict[str, Any]:
        app = self.pod.app
        target = KubernetesTarget(self.chart.kubernetes_version)
        spec = container_spec(replace(app, env=(), env_from=(), pre_stop_sleep=0), target, native_sidecar=False)
        spec["image"] = Go(f'include "{self.name}.image" .Values.image | toJson')
        spec["resources"] = Block("toYaml .Values.resources")
        # The app's own env (values) first, then what each enabled sidecar sets, as in the base.
        env_items: list[Any] = [Items(".Values.env")]
        conditions = [".Values.env"]
        for sidecar in self.chart.sidecars:
            if sidecar.app_env:
                env_items.append(If(enabled(sidecar.name), [{"name": k, "value": self.env_value(v)}
                                                             for k, v in sidecar.app_env]))
                conditions.append(enabled(sidecar.name))
        entries = list(spec.items())
        at = next(i for i, (k, _) in enumerate(entries) if k == "ports")
        entries.insert(at, (If(_any(conditions), {"env": env_items}), None))
        entries.insert(at + 1, (If(".Values.envFrom", {"envFrom": Block("toYaml .Values.envFrom")}), None))
        lifecycle = {"lifecycle": {"preStop": {"sleep": {"seconds": Go(f'include "{self.name}.drain" . | int')}}}}
        at = next(i for i, (k, _) in enumerate(entries) if k == "securityContext")
        entries.insert(at, (If(f'include "{self.name}.preStopSleep" .', lifecycle), None))
        return dict(entries)

    def sidecar(self, sidecar: ChartSidecar, native: bool) -> dict[str, Any]:
        target = KubernetesTarget("1.29" if native else "1.28")
        spec = self.field(container_spec(replace(sidecar.container, env=()), target, native_sidecar=native))
        if sidecar.container.env:  # before ports, as container_spec places it
            entries = list(spec.items())
            at = next(i for i, (k, _) in enumerate(entries) if k in ("envFrom", "ports"))
            # A Secret key reference is written as the base writes it (its name is fixed).
            entries.insert(at, ("env", [env_entry(var) if var.source else {"name": var.name, "value": self.env_value(var.value)}
                                        for var in sidecar.container.env]))
            spec = dict(entries)
        spec["image"] = Go(f'include "{self.name}.image" {root(sidecar.name)}.image | toJson')
        spec["resources"] = Block(f"toYaml {root(sidecar.name)}.resources")
        return spec

    def service(self) -> str:
        pod = self.pod
        ports: list[Any] = []
        conditions = []
        app_port = pod.app.ports[0]
        ports.append(If(self.app_public, [self._service_port(app_port)]))
        conditions.append(self.app_public)
        for sidecar in self.chart.sidecars:
            public = [p for p in sidecar.container.ports if p.public]
            if public:
                ports.append(If(enabled(sidecar.name), [self._service_port(p) for p in public]))
                conditions.append(enabled(sidecar.name))
        doc = {"apiVersion": "v1", "kind": "Service", "metadata": self.meta(),
               "spec": {"type": "ClusterIP", "selector": self.selector(), "ports": ports}}
        return _when(_any(conditions), document(doc))

    def _service_port(self, port: Any) -> dict[str, Any]:
        return self.field({"name": port.name, "port": port.number, "targetPort": port.number,
                           "protocol": port.protocol})

    def network_policy(self) -> str:
        allowed: list[Any] = [If(self.app_allowed, [self._policy_port(self.pod.app.ports[0])])]
        conditions = [self.app_allowed]
        for sidecar in self.chart.sidecars:
            open_ports = [p for p in sidecar.container.ports if p.public or p.scrape_path]
            if open_ports:
                allowed.append(If(enabled(sidecar.name), [self._policy_port(p) for p in open_ports]))
                conditions.append(enabled(sidecar.name))
        spec: dict[Any, Any] = {"podSelector": {"matchLabels": self.selector()}, "policyTypes": ["Ingress"],
                                If(_any(conditions), {"ingress": [{"ports": allowed}]}, {"ingress": []}): None}
        return document({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": self.meta(),
                         "spec": spec})

    def _policy_port(self, port: Any) -> dict[str, Any]:
        return self.field({"port": port.number, "protocol": port.protocol})

    def disruption_budget(self) -> str:
        return document({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": self.meta(),
                         "spec": {"maxUnavailable": 1, "selector": {"matchLabels": self.selector()}}})


def _when(condition: str, text: str) -> str:
    if condition == "true":
        return text
    return f"{{{{- if {condition} }}}}\n{text}{{{{- end }}}}\n"


def _literal(text: str) -> str:
    """Literal config text inside a Go template: no '{{' may start an action."""
    text = text.replace("{{", '{{ "{{" }}')
    if text.endswith("{"):
        text = text[:-1] + '{{ "{" }}'
    return text

