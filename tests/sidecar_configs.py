"""Offline checks of generated configs for sidecars whose program cannot run here (no image
registry; neither Fluent Bit nor the OpenTelemetry Collector is in Debian, PyPI or npm). Each
check is the program's own notion of a valid config, taken from its source at the pinned tag:

- Fluent Bit 5.1.1: the keys it accepts per section and plugin (tests/data/fluent-bit-5.1.1-keys.json,
  extracted by tests/data/extract_fluent_bit_keys.py), the YAML layout of
  https://docs.fluentbit.io/manual/administration/configuring-fluent-bit/yaml, and the references
  between sections (a parser named by an input exists; every output matches something).
- git-sync 4.7.1 (configured by flags alone): the flags its README documents at that tag
  (tests/data/git-sync-4.7.1-flags.txt; a misspelled flag is fatal to git-sync, its README says).
- OpenTelemetry Collector 0.159.0 (core): each component's config keys (the mapstructure tags of
  its Config struct, files named below), the component types of the core distribution
  (distributions/otelcol/manifest.yaml), and what `otelcol validate` checks across the
  file: every pipeline names defined components, service.extensions are defined, and
  memory_limiter's limits make sense (internal/memorylimiter/config.go Validate).

Each returns a list of problems, one line each; [] is a pass.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

FLUENT_BIT_KEYS = json.loads((Path(__file__).parent / "data" / "fluent-bit-5.1.1-keys.json").read_text())
FLUENT_BIT_SECTIONS = ("env", "includes", "service", "pipeline", "parsers", "multiline_parsers", "plugins",
                       "upstream_servers", "customs")


def fluent_bit_problems(config: dict[str, Any]) -> list[str]:
    problems = [f"{key}: not a section of Fluent Bit's YAML config" for key in config
                if key not in FLUENT_BIT_SECTIONS]
    problems += [f"service.{key}: not a service key" for key in config.get("service") or {}
                 if key.lower() not in FLUENT_BIT_KEYS["service"]]
    parsers = set()
    for i, parser in enumerate(config.get("parsers") or []):
        problems += [f"parsers[{i}].{key}: not a parser key" for key in parser if key not in FLUENT_BIT_KEYS["parser"]]
        if not parser.get("name") or not parser.get("format"):
            problems.append(f"parsers[{i}]: needs name and format")
        parsers.add(parser.get("name"))
    pipeline = config.get("pipeline") or {}
    problems += [f"pipeline.{key}: not a pipeline part" for key in pipeline if key not in ("inputs", "filters", "outputs")]
    tags = []
    for kind in ("input", "output"):
        for i, plugin in enumerate(pipeline.get(f"{kind}s") or []):
            where, name = f"pipeline.{kind}s[{i}]", plugin.get("name")
            if name not in FLUENT_BIT_KEYS[kind]:
                problems.append(f"{where}.name: {name!r} is not a known {kind} plugin here")
                continue
            problems += [f"{where}.{key}: not a key of {kind} {name!r}" for key in plugin
                         if key.lower() not in FLUENT_BIT_KEYS[kind][name]]
            if kind == "input":
                tags.append(str(plugin.get("tag", name)))
                if plugin.get("parser") is not None and plugin["parser"] not in parsers:
                    problems.append(f"{where}.parser: {plugin['parser']!r} is not defined under parsers")
            elif not plugin.get("match"):
                problems.append(f"{where}: needs match (records reach an output only through it)")
            elif not any(re.fullmatch(re.escape(plugin["match"]).replace(r"\*", ".*"), tag) for tag in tags):
                problems.append(f"{where}.match: {plugin['match']!r} matches no input's tag ({', '.join(tags)})")
    if not pipeline.get("inputs") or not pipeline.get("outputs"):
        problems.append("pipeline: needs inputs and outputs")
    return problems


# --- OpenTelemetry Collector 0.159.0 --------------------------------------------------------
# The components' own config schemas (tests/data/otelcol-0.159.0, vendored by
# tests/data/vendor_otelcol_schemas.py), and the component types of the core distribution
# (opentelemetry-collector-releases distributions/otelcol/manifest.yaml at v0.159.0): the image
# knows no other, so a contrib-only component or a typo is refused.
OTELCOL_SCHEMAS = Path(__file__).parent / "data" / "otelcol-0.159.0"
OTEL_COMPONENTS = {  # type -> the package whose config.schema.yaml describes it
    "receivers": {"otlp": "receiver/otlpreceiver"},
    "processors": {"memory_limiter": "processor/memorylimiterprocessor", "batch": "processor/batchprocessor"},
    "exporters": {"otlp_grpc": "exporter/otlpexporter", "otlp": "exporter/otlpexporter",
                  "debug": "exporter/debugexporter"},
    "extensions": {"health_check": "extension/healthcheckextension"},
    "connectors": {},
}
OTEL_CORE_TYPES = {
    "receivers": {"nop", "otlp", "hostmetrics", "jaeger", "kafka", "prometheus", "zipkin"},
    "processors": {"batch", "memory_limiter", "attributes", "resource", "span", "probabilistic_sampler", "filter"},
    "exporters": {"debug", "nop", "otlp_grpc", "otlp", "otlp_http", "otlphttp", "file", "kafka", "prometheus",
                  "prometheusremotewrite", "zipkin"},
    "extensions": {"zpages", "health_check", "pprof"},
    "connectors": {"forward"},
}
_PLAIN_GO = ("uint32", "uint64", "int64", "float64")
_JSON_TYPES = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "array": list,
               "object": dict}


class _Schemas:
    """The vendored schemas and their references: `name` (a $def of the same file),
    `/pkg/path.name` (another package's) and `./below.name` (a package below this one). A
    package upstream names without a schema (exporterhelper/internal/request) reads as any."""

    def __init__(self, root: Path) -> None:
        import yaml

        self.files = {str(p.parent.relative_to(root)): yaml.safe_load(p.read_text())
                      for p in root.rglob("config.schema.yaml")}

    def resolve(self, ref: str, package: str) -> tuple[dict, str]:
        if ref.startswith(("/", "./")):
            path, _, name = ref.rpartition(".")
            package = path[1:] if path.startswith("/") else str(Path(package) / path[2:])
        else:
            name = ref
        if package not in self.files:
            return {}, package
        return self.files[package].get("$defs", {}).get(name, {}), package

    def properties(self, schema: dict, package: str) -> dict[str, tuple[dict, str]] | None:
        """Every key an object schema allows (its own, its allOf's, through $ref), with the
        schema and package of each; None when the schema does not describe an object."""
        if "$ref" in schema:
            return self.properties(*self.resolve(schema["$ref"], package))
        found, is_object = {}, schema.get("type") == "object" or "properties" in schema
        for name, sub in (schema.get("properties") or {}).items():
            found[name] = (sub, package)
        for part in schema.get("allOf") or []:
            more = self.properties(part, package)
            if more is not None:
                is_object = True
                found.update(more)
        return found if is_object else None

    def problems(self, value: Any, schema: dict, package: str, where: str) -> list[str]:
        if "$ref" in schema:
            target, package = self.resolve(schema["$ref"], package)
            return self.problems(value, target, package, where)
        if value is None:  # an empty mapping in YAML (`health_check:`) takes the defaults
            return []
        allowed = self.properties(schema, package)
        if allowed is not None:
            if not isinstance(value, dict):
                return [f"{where}: must be a mapping"]
            out = []
            for key, item in value.items():
                if key not in allowed:
                    out.append(f"{where}.{key}: not a key here (known: {', '.join(sorted(allowed))})")
                else:
                    out += self.problems(item, *allowed[key], f"{where}.{key}")
            return out
        kind = schema.get("type")
        # Types with a text form of their own (time.Duration, component.ID, the telemetry level,
        # an int32 that reads "basic") are read from strings whatever type the schema says; plain
        # Go numbers (uint32, int64, float64) are checked.
        custom = schema.get("x-customType")
        if kind in _JSON_TYPES and (custom is None or custom in _PLAIN_GO) and "format" not in schema:
            good = isinstance(value, _JSON_TYPES[kind]) and not (isinstance(value, bool) and kind != "boolean")
            if not good:
                return [f"{where}: {value!r} is not of type {kind}"]
        if kind == "array" and isinstance(value, list) and "items" in schema:
            return [p for i, item in enumerate(value) for p in self.problems(item, schema["items"], package, f"{where}[{i}]")]
        return []


def _type(component_id: str) -> str:
    return component_id.split("/", 1)[0]


def otel_problems(config: dict[str, Any]) -> list[str]:
    schemas = _Schemas(OTELCOL_SCHEMAS)
    problems = [f"{key}: not a top-level key" for key in config
                if key not in ("receivers", "processors", "exporters", "extensions", "connectors", "service")]
    for kind, known in OTEL_COMPONENTS.items():
        for component_id, body in (config.get(kind) or {}).items():
            kind_type = _type(component_id)
            if kind_type not in OTEL_CORE_TYPES[kind]:
                problems.append(f"{kind}.{component_id}: {kind_type!r} is not in the core distribution")
            elif kind_type in known:
                package = known[kind_type]
                problems += schemas.problems(body, schemas.files[package], package, f"{kind}.{component_id}")
    for component_id, body in (config.get("processors") or {}).items():
        if _type(component_id) == "memory_limiter":  # internal/memorylimiter/config.go Validate
            body = body or {}
            limit, spike = body.get("limit_mib", 0), body.get("spike_limit_mib", 0)
            if not body.get("check_interval"):
                problems.append(f"processors.{component_id}.check_interval: must be set and above zero")
            if not (isinstance(limit, int) and isinstance(spike, int) and 0 <= spike < limit):
                problems.append(f"processors.{component_id}: spike_limit_mib ({spike}) must be below limit_mib ({limit})")
    service = config.get("service") or {}
    for extension in service.get("extensions") or []:
        if extension not in (config.get("extensions") or {}):
            problems.append(f"service.extensions: {extension!r} is not defined under extensions")
    pipelines = service.get("pipelines") or {}
    if not pipelines:
        problems.append("service.pipelines: at least one pipeline is needed")
    for name, pipeline in pipelines.items():
        if _type(name) not in ("traces", "metrics", "logs", "profiles"):
            problems.append(f"service.pipelines.{name}: not a signal (traces, metrics, logs, profiles)")
        for kind in ("receivers", "processors", "exporters"):
            for component_id in pipeline.get(kind) or []:
                if component_id not in (config.get(kind) or {}) and component_id not in (config.get("connectors") or {}):
                    problems.append(f"service.pipelines.{name}.{kind}: {component_id!r} is not defined")
        if not pipeline.get("receivers") or not pipeline.get("exporters"):
            problems.append(f"service.pipelines.{name}: needs receivers and exporters")
        processors = [_type(p) for p in pipeline.get("processors") or []]
        if "memory_limiter" in processors and processors[0] != "memory_limiter":
            problems.append(f"service.pipelines.{name}.processors: memory_limiter must come first")
    return problems


# --- git-sync 4.7.1 ---------------------------------------------------------------------------
GIT_SYNC_FLAGS = {line.strip() for line in (Path(__file__).parent / "data" / "git-sync-4.7.1-flags.txt").read_text()
                  .splitlines() if line.startswith("--")}


def git_sync_problems(args: list[str]) -> list[str]:
    """git-sync's command line: documented flags only, --repo given, --one-time without a server."""
    problems = [f"{arg}: not a flag of git-sync 4.7.1" for arg in args if arg.split("=", 1)[0] not in GIT_SYNC_FLAGS]
    flags = {arg.split("=", 1)[0] for arg in args}
    if "--repo" not in flags:
        problems.append("--repo: required")
    if "--one-time" in flags and "--http-bind" in flags:
        problems.append("--one-time exits after one sync: its --http-bind would serve nobody")
    if "--http-metrics" in flags and "--http-bind" not in flags:
        problems.append("--http-metrics needs --http-bind")
    return problems
