"""Plain-text description of one template, for `sidecar-new show`."""

from __future__ import annotations

from generator.catalog.capabilities import describe
from generator.catalog.loader import Template
from generator.model.pod import sidecar_context
from generator.model.render import expand_definition
from generator.input.spec import SAMPLE_APP, App


def describe_template(template: Template) -> str:
    d = template.definition
    if not any(p.required for p in template.params):
        defaults = {p.name: p.default for p in template.params}
        d = expand_definition(d, sidecar_context(template, App(**SAMPLE_APP), defaults), template.name)
    lines = [f"{template.name} ({template.capability}): {template.summary}",
             f"capability: {template.capability}, {describe(template.capability)}",
             f"image: {template.image}", f"folder: {template.folder}"]
    lines.append("parameters:" if template.params else "parameters: none")
    for p in template.params:
        default = "required" if p.required else f"default {p.default!r}"
        lines.append(f"  {p.name} ({p.type}, {default}){' [advanced]' if p.advanced else ''}: {p.help}")
    lines.append("ports:")
    for port in d.ports:
        flags = (["public"] if port.public else []) + (["scraped"] if port.scrape_path else [])
        lines.append(f"  {port.name}: {port.number}/{port.protocol}" + (f" ({', '.join(flags)})" if flags else ""))
    mounts = [f"  {v.name} (own, {v.size}) -> {v.path}" for v in d.volumes]
    mounts += [f"  {m.volume} (shared{', ro' if m.read_only else ''}) -> {m.path}" for m in d.mounts]
    if d.config_dir:
        mounts.append(f"  config (ro) -> {d.config_dir}: " + ", ".join(n.removesuffix('.j2') for n, _ in template.files))
    lines += ["volumes:", *mounts] if mounts else ["volumes: none"]
    lines.append("probes:")
    for kind, probe in d.probes:
        target = f"GET :{probe.port}{probe.path}" if probe.path else f"TCP :{probe.port}"
        lines.append(f"  {kind}: {target} every {probe.period}s")
    health = d.compose_healthcheck
    # None may mean an image without a shell or a template whose author gave no command: say
    # what Compose does, not why.
    lines.append(f"compose healthcheck: {' '.join(map(str, health)) if health else 'none (Compose waits for service_started)'}")
    for part in ("requests", "limits"):
        lines.append(f"{part}: " + ", ".join(f"{k}={v}" for k, v in getattr(d, part)))
    if template.conflicts:
        lines.append("conflicts with: " + ", ".join(template.conflicts))
    return "\n".join(lines) + "\n"
