"""Every rule of the catalog schema (catalog.yaml, sidecar.yaml, files/), each with a change
to a small valid catalog that breaks it and what the problem then says.

When you add a rule to schema.py or loader.py, add a line here: tests/test_schema_rules.py
renders every line through `sidecar-new catalog lint` and `sidecar-new new --catalog`,
which must both refuse it, with the same message.

A change maps a path to a value: `run_as` and `ports.0.port` in sidecar.yaml,
`catalog:templates.0.image` in catalog.yaml, `files/NAME` (text, bytes or LINK) in files/,
`text:sidecar.yaml` or `text:catalog.yaml` for the whole file (LINK: a link to a copy),
`link:PATH` for a link at PATH (relative to the catalog) to a folder outside it; DELETE
removes the key.
"""

from __future__ import annotations

from typing import Any

DELETE, LINK = "<delete>", "<link>"

# The catalog every change applies to: it passes `catalog lint` as it is.
ENTRY = {"name": "pinger", "capability": "health", "summary": "Answers pings next to the app",
         "image": "registry.example.com/platform/pinger:1.2.3", "path": "templates/pinger"}
INDEX = {"name": "team", "version": "2.1.0", "templates": [ENTRY]}
DEFINITION = {
    "params": {"port": {"type": "port", "default": 9400, "help": "Port pinger listens on"},
               "greeting": {"type": "str", "default": "hello", "help": "What pinger answers"}},
    "run_as": 10001,
    "ports": [{"name": "pinger", "port": "{{ port }}"}],
    "config_dir": "/etc/pinger",
    "probes": {"readiness": {"port": "{{ port }}", "path": "/ready"},
               "liveness": {"port": "{{ port }}", "path": "/healthz", "period": 20}},
    "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"cpu": "100m", "memory": "64Mi"}},
}
FILES = {"pinger.yaml.j2": "greeting: {{ greeting }}\n"}

# (what the problem says, the change that breaks the rule)
RULES: tuple[tuple[str, dict[str, Any]], ...] = (
    # catalog.yaml
    ("owner: unknown key", {"catalog:owner": "platform"}),
    ("version: is required", {"catalog:version": DELETE}),
    ("name: must be a non-empty string", {"catalog:name": 5}),
    ("templates: must be a non-empty list", {"catalog:templates": []}),
    ("templates[0]: must be a mapping", {"catalog:templates.0": "pinger"}),
    ("templates[0].owner: unknown key", {"catalog:templates.0.owner": "x"}),
    ("templates[0].summary: is required", {"catalog:templates.0.summary": DELETE}),
    ("templates[0].summary: must be a non-empty string", {"catalog:templates.0.summary": " "}),
    ("templates[0].name: 'Pinger' is not a DNS-1123 label", {"catalog:templates.0.name": "Pinger"}),
    ("name: template 'pinger' is listed twice", {"catalog:templates.1": dict(ENTRY)}),
    ("is not pinned", {"catalog:templates.0.image": "registry.example.com/platform/pinger:latest"}),
    ("templates[0].conflicts: must be a list", {"catalog:templates.0.conflicts": "ghost"}),
    ("templates[0].conflicts: 'ghost' is not another template", {"catalog:templates.0.conflicts": ["ghost"]}),
    ("templates[0].path: '../x' must be a folder inside the catalog", {"catalog:templates.0.path": "../x"}),
    ("templates[0].path: template folder 'templates/ghost' does not exist",
     {"catalog:templates.0.path": "templates/ghost"}),
    ("templates[0].path: templates/pinger/sidecar.yaml is missing", {"text:sidecar.yaml": DELETE}),
    ("templates[0].path: template folder 'templates/linked' is a link out of the catalog",
     {"link:templates/linked": "outside", "catalog:templates.0.path": "templates/linked"}),
    ("sidecar.yaml: must be a file, not a link", {"text:sidecar.yaml": LINK}),
    ("sidecar.yaml: not UTF-8 text", {"text:sidecar.yaml": b"run_as: \xff\n"}),
    ("invalid YAML", {"text:sidecar.yaml": "params: [oops\n"}),
    ("is empty: expected ports, probes and resources", {"text:sidecar.yaml": ""}),
    ("run_as: key given twice", {"text:sidecar.yaml": "run_as: 10001\nrun_as: 10002\n"}),
    # sidecar.yaml: keys and shapes
    ("privileged: unknown key", {"privileged": True}),
    ("resources: is required", {"resources": DELETE}),
    ("params: must be a mapping", {"params": ["port"]}),
    ("params.app: parameter names must be identifiers", {"params.app": {"type": "str", "default": "x", "help": "h"}}),
    ("params.greeting.type: 'float' is not one of", {"params.greeting.type": "float"}),
    ("params.greeting.help: is required", {"params.greeting.help": DELETE}),
    ("params.greeting.choices: must be a list", {"params.greeting.choices": "hello"}),
    ("params.greeting.advanced: must be true or false", {"params.greeting.advanced": "yes"}),
    ("params.port.default: 99999 is not a port", {"params.port.default": 99999}),
    ("params.greeting.default: 'hi' is not one of hello", {"params.greeting.choices": ["hello"],
                                                           "params.greeting.default": "hi"}),
    ("needs: 'db' is not an optional app field", {"needs": ["db"]}),
    ("needs: must be a list", {"needs": "log_dir"}),
    ("run_as: must be a uid", {"run_as": "root"}),
    ("run_as: 1000 is below 10000", {"run_as": 1000}),
    ("fronts_app: must be true or false", {"fronts_app": "yes"}),
    ("args[0]: must be a string", {"args": [["--x"]]}),
    ("command: must be a list", {"command": "pinger --serve"}),
    ("env.1X: is not an environment variable name", {"env": {"1X": "a"}}),
    ("env.X: must be a plain value or {secret: NAME/KEY}", {"env": {"X": [1]}}),
    ("env.X.secret: 'creds' must be NAME/KEY", {"env": {"X": {"secret": "creds"}}}),
    ("env.DB_PASSWORD: looks like a secret", {"env": {"DB_PASSWORD": "hunter2"}}),
    ("app_env: must be a mapping", {"app_env": ["X=1"]}),
    # ports
    ("ports: must be a non-empty list", {"ports": []}),
    ("ports[0].nom: unknown key", {"ports.0.nom": "x"}),
    ("ports[0].port: is required", {"ports.0.port": DELETE}),
    ("ports[0].name: 'Pinger_Port' must be at most 15 characters", {"ports.0.name": "Pinger_Port"}),
    ("ports[1].name: 'pinger' is given to two ports", {"ports.1": {"name": "pinger", "port": 9500}}),
    ("ports[0].port: 70000 is not a port", {"ports.0.port": 70000}),
    ("ports take no other Jinja", {"ports.0.port": "{{ port + 1 }}"}),
    ("names no port parameter of this template", {"ports.0.port": "{{ greeting }}"}),
    ("names no app port", {"ports.0.port": "{{ app.name }}"}),
    ("ports[0].protocol: must be TCP or UDP", {"ports.0.protocol": "SCTP"}),
    ("ports[0].public: must be true or false", {"ports.0.public": "yes"}),
    ("ports[0].scrape_path: 'metrics' is not an absolute URL path", {"ports.0.scrape_path": "metrics"}),
    # volumes and mounts
    ("volumes: must be a list", {"volumes": {"data": "/data"}}),
    ("volumes[0].path: is required", {"volumes": [{"name": "data"}]}),
    ("volumes[0].name: 'Data' is not a DNS-1123 label", {"volumes": [{"name": "Data", "path": "/data"}]}),
    ("volumes[0].path: 'data' is not an absolute directory path", {"volumes": [{"name": "data", "path": "data"}]}),
    ("volumes[0].size: '1g' must be bytes, Ki, Mi or Gi",
     {"volumes": [{"name": "data", "path": "/data", "size": "1g"}]}),
    ("mounts[0].volume: must be a volume name", {"mounts": [{"volume": 1, "path": "/logs"}]}),
    ("mounts[0].path: 'logs' is not an absolute directory path", {"mounts": [{"volume": "app-logs", "path": "logs"}]}),
    ("mounts[0].read_only: must be true or false",
     {"mounts": [{"volume": "app-logs", "path": "/logs", "read_only": "no"}]}),
    ("config_dir: '/etc/pinger' is mounted twice", {"mounts": [{"volume": "app-logs", "path": "/etc/pinger"}]}),
    ("config_dir: 'etc/pinger' is not an absolute directory path", {"config_dir": "etc/pinger"}),
    ("config_dir: is required: files/ has pinger.yaml.j2 to mount", {"config_dir": DELETE}),
    # probes
    ("probes.ready: unknown key", {"probes.ready": {"port": 9400}}),
    ("probes.liveness: is required", {"probes.liveness": DELETE}),
    ("probes.readiness.port: is required", {"probes.readiness": {"path": "/ready"}}),
    ("probes.readiness.port: 0 is not a port", {"probes.readiness.port": 0}),
    ("probes.readiness.path: 'ready' is not an absolute URL path", {"probes.readiness.path": "ready"}),
    ("namespace_holder: 'pause' is not pinned", {"catalog:namespace_holder": "pause"}),
    ("overhead_budget: must be a mapping", {"catalog:overhead_budget": 50}),
    ("overhead_budget.gpu: unknown key", {"catalog:overhead_budget": {"gpu": 50}}),
    ("overhead_budget.cpu: '50%' is not a whole percent", {"catalog:overhead_budget": {"cpu": "50%"}}),
    ("overhead_budget.memory: 0 is not a whole percent", {"catalog:overhead_budget": {"memory": 0}}),
    ("probes.readiness.period: is too small", {"probes.readiness.period": 0}),
    ("probes.readiness.timeout: must be a whole number", {"probes.readiness.timeout": "2s"}),
    # resources
    ("resources.requests.gpu: unknown key", {"resources.requests.gpu": 1}),
    ("resources.limits: is required", {"resources.limits": DELETE}),
    ("resources.limits.memory: is required", {"resources.limits.memory": DELETE}),
    ("resources.requests.memory: 'lots' is not a resource quantity", {"resources.requests.memory": "lots"}),
    ("resources.requests.memory: '16m' must be bytes, Ki, Mi or Gi", {"resources.requests.memory": "16m"}),
    ("resources.limits.cpu: 1m is below the request 10m", {"resources.limits.cpu": "1m"}),
    ("pre_stop_sleep: must be a number of seconds", {"pre_stop_sleep": "10s"}),
    ("pre_stop_sleep: must be from 0 to 300 seconds", {"pre_stop_sleep": 301}),
    # in-memory and shared volumes, secrets, service-account tokens, first steps
    ("volumes[0].memory: must be true or false", {"volumes": [{"name": "data", "path": "/data", "memory": "yes"}]}),
    ("volumes[0].app_path: 'data' is not an absolute directory path",
     {"volumes": [{"name": "data", "path": "/data", "app_path": "data"}]}),
    ("secrets[0].secret: is required", {"secrets": [{"name": "tls", "path": "/etc/tls", "keys": ["tls.crt"]}]}),
    ("secrets[0].keys: must be a non-empty list", {"secrets": [{"name": "tls", "secret": "tls", "path": "/etc/tls",
                                                                "keys": []}]}),
    ("secrets[0].name: 'TLS' is not a DNS-1123 label", {"secrets": [{"name": "TLS", "secret": "tls",
                                                                     "path": "/etc/tls", "keys": ["tls.crt"]}]}),
    ("secrets[0].name: 'tls' names a volume already", {"volumes": [{"name": "tls", "path": "/data"}],
                                                      "secrets": [{"name": "tls", "secret": "tls", "path": "/etc/tls",
                                                                   "keys": ["tls.crt"]}]}),
    ("secrets[0].secret: 'Web_TLS' is not a DNS-1123 label", {"secrets": [{"name": "tls", "secret": "Web_TLS",
                                                                           "path": "/etc/tls", "keys": ["tls.crt"]}]}),
    ("secrets[0].path: 'tls' is not an absolute directory path",
     {"secrets": [{"name": "tls", "secret": "tls", "path": "tls", "keys": ["tls.crt"]}]}),
    ("secrets[0].keys[0]: 'a/b' is not a Secret key", {"secrets": [{"name": "tls", "secret": "tls",
                                                                     "path": "/etc/tls", "keys": ["a/b"]}]}),
    ("secrets[0].mode: must be a file mode", {"secrets": [{"name": "tls", "secret": "tls", "path": "/etc/tls",
                                                           "keys": ["tls.crt"], "mode": "0440"}]}),
    ("secrets[0].mode: 512 is not a file mode", {"secrets": [{"name": "tls", "secret": "tls", "path": "/etc/tls",
                                                              "keys": ["tls.crt"], "mode": 0o1000}]}),
    ("secrets[0].mode: 0o444 lets every user read the secret", {"secrets": [{"name": "tls", "secret": "tls",
                                                                            "path": "/etc/tls", "keys": ["tls.crt"],
                                                                            "mode": 0o444}]}),
    ("service_account_token.audience: is required", {"service_account_token": {"path": "/var/run/tokens"}}),
    ("service_account_token.path: 'tokens' is not an absolute directory path",
     {"service_account_token": {"path": "tokens", "audience": "vault"}}),
    ("service_account_token.audience: must be a non-empty string",
     {"service_account_token": {"path": "/var/run/tokens", "audience": " "}}),
    ("service_account_token.expiration: must be from 600", {"service_account_token": {
        "path": "/var/run/tokens", "audience": "vault", "expiration": 60}}),
    ("service_account_token.expiration: must be a number of seconds", {"service_account_token": {
        "path": "/var/run/tokens", "audience": "vault", "expiration": "1h"}}),
    ("before_app: needs probes.startup", {"before_app": {"args": ["--once"]}}),
    ("before_app: must be a mapping", {"before_app": ["--once"]}),
    ("before_app.args: must be a non-empty list", {"before_app": {"args": []}}),
    ("before_app.args[0]: must be a string", {"before_app": {"args": [["--once"]]},
                                              "probes.startup": {"port": "{{ port }}", "path": "/ready"}}),
    ("probes.readiness.port: is required (or command: an exec probe), not both", {"probes.readiness.command": ["true"]}),
    ("probes.readiness.command: must be a non-empty list (exec form), without path", {"probes.readiness": {
        "command": "true"}}),
    ("probes.readiness.command[0]: must be a string", {"probes.readiness": {"command": [["true"]]}}),
    # fronting chains
    ("templates[0].in_front_of: must be a list", {"catalog:templates.0.in_front_of": "pinger"}),
    ("templates[0].in_front_of: 'ghost' is not another template", {"catalog:templates.0.in_front_of": ["ghost"]}),
    ("in_front_of: 'pinger' does not front the app", {"catalog:templates.1": {**ENTRY, "name": "pinger-two"},
                                                      "catalog:templates.0.in_front_of": ["pinger-two"]}),
    ("in_front_of: 'pinger' must forward to {{ upstream_port }}", {
        "catalog:templates.1": {**ENTRY, "name": "pinger-two"}, "catalog:templates.0.in_front_of": ["pinger-two"],
        "fronts_app": True}),
    # files/
    ("links are not allowed in a template's files/", {"files/passwd.j2": LINK}),
    ("unsafe file name", {"files/..\\evil.j2": "x\n"}),
    ("files: a template's files/ must be a folder inside the catalog, not a link",
     {"link:templates/pinger/files": "outside"}),
    ("cannot be a ConfigMap key", {"files/bad name.conf": "x\n"}),
    ("becomes ConfigMap key 'a__b.conf', as a/b.conf does", {"files/a/b.conf": "x\n", "files/a__b.conf": "y\n"}),
    ("template files must be UTF-8 text", {"files/blob.bin": b"\xff\xfe"}),
)
