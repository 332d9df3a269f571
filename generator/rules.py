"""Input rules in one place: the answers file, the flags, the wizard and the catalog
schema all call these.

Each check returns the clean value or raises RuleError naming the field, the value and
the rule, so every front end refuses bad input with the same one-line message. RuleError
belongs to no stage: the request wraps it in a SpecError, the catalog in a CatalogError
(input/spec.py, catalog/schema.py), each keeping the message as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any


KUBERNETES_VERSIONS = tuple(f"1.{minor}" for minor in range(25, 38))  # what the validators know
DEFAULT_KUBERNETES_VERSION = "1.33"
NATIVE_SIDECARS_FROM = (1, 29)  # beta and on by default from 1.29
PRESTOP_SLEEP_FROM = (1, 30)  # PodLifecycleSleepAction beta and on by default from 1.30
TARGETS = ("compose", "kubernetes", "helm")
DEFAULT_TARGETS = ("compose", "kubernetes")  # "both"; "all" adds the Helm chart
_TARGET_WORDS = {"both": DEFAULT_TARGETS, "all": TARGETS}

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
# Docker's reference grammar (distribution/reference): [domain[:port]/]path[:tag][@digest]
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
_IMAGE = re.compile(
    rf"(?:(?P<domain>{_DOMAIN})/)?(?P<path>{_COMPONENT}(?:/{_COMPONENT})*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>sha256:[a-f0-9]{64}))?",
    re.ASCII,  # \w would take any Unicode letter; Docker refuses them
)
_URL_PATH = re.compile(r"/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*")
# RFC 3986 query characters: a path, then an optional ?query; never a #fragment (the client
# keeps it) and never a space (kubelet, Docker and Envoy would each split or refuse it).
_HTTP_TARGET = re.compile(r"/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*(\?[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*)?")
_DIR_PATH = re.compile(r"(/[A-Za-z0-9._-]+)+")
_HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9a-fA-F:]+\]")


class RuleError(ValueError):
    """A value breaks a rule. `message` names the field, the value and the rule; `hint` is
    how the command line may waive it (only the request shows it)."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message, self.hint = message, hint

    @property
    def with_hint(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


def _refuse(field: str, value: Any, rule: str, hint: str = "") -> RuleError:
    return RuleError(f"{field}: {shown(value)} {rule}", hint)


def shown(value: Any) -> str:
    """A value as an error message shows it: at most ~80 characters, however large or deeply
    nested it is (str() of a big nested list would build all of it first)."""
    import reprlib

    brief = reprlib.Repr()
    brief.maxlevel, brief.maxstring, brief.maxother = 3, 78, 78
    brief.maxlist = brief.maxtuple = brief.maxdict = brief.maxset = 6
    text = brief.repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def dns_label(field: str, value: Any) -> str:
    if not isinstance(value, str) or not _DNS_LABEL.fullmatch(value):
        raise _refuse(field, value, "is not a DNS-1123 label (lower-case letters, digits and '-', "
                                    "starting and ending with a letter or digit)")
    if len(value) > 63:
        raise _refuse(field, value, f"is {len(value)} characters long; a DNS-1123 label has at most 63")
    return value


def is_dns_label(value: str) -> bool:
    return bool(_DNS_LABEL.fullmatch(value)) and len(value) <= 63


def service_name(field: str, value: Any) -> str:
    """The app's name also names its Service, which must be a DNS-1035 label (a letter first)."""
    dns_label(field, value)
    if not value[0].isalpha():
        raise _refuse(field, value, "must start with a letter (it also names the Kubernetes Service)")
    return value


def image(field: str, value: Any, allow_unpinned: bool = False) -> str:
    if not isinstance(value, str) or not value or len(value) > 255:
        raise _refuse(field, value, "is not an image reference")
    match = _IMAGE.fullmatch(value)
    if not match:
        raise _refuse(field, value, "is not an image reference ([registry[:port]/]path[:tag][@sha256:digest])")
    if not is_pinned(value) and not allow_unpinned:
        raise _refuse(field, value, "is not pinned: give an exact tag or a @sha256 digest",
                      hint="or pass --allow-unpinned")
    return value


def is_pinned(reference: str) -> bool:
    """A digest, or a tag other than latest (an unparsable reference is not pinned)."""
    match = _IMAGE.fullmatch(reference)
    return bool(match) and (bool(match["digest"]) or match["tag"] not in (None, "latest"))


def port(field: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise _refuse(field, value, "is not a port (a whole number from 1 to 65535)")
    return value


def url_path(field: str, value: Any) -> str:
    """A path alone: what Prometheus scrapes (its query parameters go in the scrape config's
    params:, and the prometheus.io/path annotation would escape a '?')."""
    if not isinstance(value, str) or not _URL_PATH.fullmatch(value) or len(value) > 200:
        raise _refuse(field, value, "is not an absolute URL path (starts with '/', no spaces, "
                                    "query or fragment)")
    return value


def http_target(field: str, value: Any) -> str:
    """A path with an optional query, as an HTTP GET sends it: what kubelet httpGet probes,
    Docker healthchecks and Envoy health checks all accept (/health/ready?probe=1)."""
    if not isinstance(value, str) or not _HTTP_TARGET.fullmatch(value) or len(value) > 200:
        raise _refuse(field, value, "is not an absolute URL path with an optional query (starts "
                                    "with '/', no spaces, no '#fragment')")
    return value


def directory(field: str, value: Any) -> str:
    if not isinstance(value, str) or not _DIR_PATH.fullmatch(value) or len(value) > 200:
        raise _refuse(field, value, "is not an absolute directory path (letters, digits, '.', '_', "
                                    "'-' and '/')")
    if any(part in (".", "..") for part in value.split("/")):
        raise _refuse(field, value, "must not contain '.' or '..' segments")
    return value


# The shared log volume is mounted at log_dir in the app and the log shipper: over a system
# folder it would hide what the image keeps there (/etc, /usr, ...) or the kernel's (/proc).
_SYSTEM_TREES = ("/proc", "/sys", "/dev", "/etc", "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64",
                 "/libx32", "/boot", "/run", "/var/run")
_SYSTEM_FOLDERS = ("/var", "/tmp", "/home", "/root", "/opt", "/srv", "/mnt", "/media", "/var/lib",
                   "/var/tmp", "/var/cache", "/var/spool")


def log_dir(field: str, value: Any) -> str:
    return own_folder(field, value, "the shared log volume mounted there would hide it in the app and "
                                    "the sidecars; use a folder of the app's own, e.g. /var/log/app")


def own_folder(field: str, value: Any, why: str) -> str:
    """A folder a volume is mounted over (the log folder, a writable path): not a system one."""
    directory(field, value)
    if value in _SYSTEM_FOLDERS or any(value == tree or value.startswith(f"{tree}/") for tree in _SYSTEM_TREES):
        raise _refuse(field, value, f"is a system folder: {why}")
    return value


MIN_UID = 10000  # uid/gid >= 10000 keep clear of host users (checkov CKV_K8S_40)


def uid(field: str, value: Any, what: str = "uid") -> int:
    """A user or group id for a container: a number of our own, clear of the host's users.
    The catalog's run_as and the app's user both take it."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31:
        raise _refuse(field, value, f"must be a {what}")
    if value < MIN_UID:
        raise RuleError(f"{field}: {value} is below {MIN_UID}: run as a non-root {what} >= {MIN_UID} that "
                        "no host user has (checkov CKV_K8S_40)")
    return value


def replicas(field: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
        raise _refuse(field, value, "is not a replica count (a whole number from 1 to 100)")
    return value


# Quantities are read here only: the rules, the limit-below-request checks and the Compose
# emitter all take them apart with quantity_parts.
_SUFFIXES = {"m": 1e-3, "": 1, "k": 1e3, "M": 1e6, "G": 1e9, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
_ANY_QUANTITY = re.compile(r"([0-9]+(?:\.[0-9]+)?)(m|k|M|G|Ki|Mi|Gi)?")
_WRITTEN_SUFFIXES = ("m", "", "k", "M", "G", "Ki", "Mi", "Gi")  # what templates and answers may write
# Whole bytes: Compose gets Ki/Mi/Gi as its binary k/m/g and k/M/G (decimal) as a byte count.
_MEMORY_SUFFIXES = ("", "k", "M", "G", "Ki", "Mi", "Gi")
MEMORY_UNITS = "bytes, Ki, Mi or Gi (or k, M, G)"


def quantity_parts(value: Any) -> tuple[str, str] | None:
    """A Kubernetes quantity as written, (number, suffix): 128Mi -> ('128', 'Mi'); None if
    it is not one."""
    match = _ANY_QUANTITY.fullmatch(str(value))
    return (match[1], match[2] or "") if match else None


def quantity(field: str, value: Any) -> str:
    parts = quantity_parts(value) if isinstance(value, str) else None
    if parts is None or parts[1] not in _WRITTEN_SUFFIXES:
        raise _refuse(field, value, "is not a resource quantity (e.g. 100m, 0.5, 128Mi)")
    return value


def limit_problem(request: Any, limit: Any) -> str | None:
    """Why a limit cannot go with its request (the API server refuses a limit below it), or None."""
    low, high = quantity_value(request), quantity_value(limit)
    if low is not None and high is not None and high < low:
        return f"{limit} is below the request {request}; the API server refuses that"
    return None


def is_memory(value: Any) -> bool:
    """Whole bytes, Ki, Mi, Gi, k, M or G: a memory or tmpfs size both Kubernetes and Compose read."""
    parts = quantity_parts(value) if not isinstance(value, bool) else None
    return parts is not None and "." not in parts[0] and parts[1] in _MEMORY_SUFFIXES


def quantity_value(value: Any) -> float | None:
    """A Kubernetes quantity as a number (100m -> 0.1, 128Mi -> 134217728); None if unknown."""
    parts = quantity_parts(value)
    return float(parts[0]) * _SUFFIXES[parts[1]] if parts else None


def targets(field: str, value: Any) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise _refuse(field, value, f"must be a list from {', '.join(TARGETS)}")
    chosen: list[str] = []
    for item in items:
        expanded = list(_TARGET_WORDS.get(item, [item])) if isinstance(item, str) else [item]
        for target in expanded:
            if target not in TARGETS:
                raise _refuse(field, item, f"is not a target (one of {', '.join(TARGETS)}, both, all)")
            if target in chosen:
                raise _refuse(field, item, "is listed twice")
            chosen.append(target)
    return tuple(t for t in TARGETS if t in chosen)


_VERSION = re.compile(r"v?([0-9]+\.[0-9]+)(\.[0-9]+)?")  # 1.31, v1.31, 1.31.2; not 1.31.x or v1.31.


def kubernetes_version(field: str, value: Any) -> str:
    text = str(value) if isinstance(value, (str, int, float)) and not isinstance(value, bool) else None
    match = _VERSION.fullmatch(text) if text is not None else None
    text = match[1] if match else None  # 1.31.2 -> 1.31
    if text not in KUBERNETES_VERSIONS:
        hint = "; quote it in YAML, e.g. \"1.30\"" if isinstance(value, float) else ""
        raise _refuse(field, value, f"is not a supported Kubernetes version "
                                    f"({KUBERNETES_VERSIONS[0]} to {KUBERNETES_VERSIONS[-1]}{hint})")
    return text


def namespace(field: str, value: Any) -> str:
    dns_label(field, value)
    if value.startswith("kube-") or value == "default":
        raise RuleError(f"{field}: {value!r} is reserved (default, kube-*); give the service a "
                        "namespace of its own")
    return value


def flag(field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise RuleError(f"{field}: {value!r} is not true or false")
    return value


def command(field: str, value: Any) -> tuple[str, ...]:
    """An exec-form command (a Compose healthcheck): a list of non-empty strings."""
    if not (isinstance(value, list) and all(isinstance(c, str) and c for c in value)):
        raise RuleError(f"{field}: {value!r} must be a list of strings (exec form, e.g. "
                        "[wget, -q, --spider, http://127.0.0.1:8080/healthz])")
    return tuple(value)


def native_sidecars(version: str) -> bool:
    """Kubernetes runs sidecars as restartable init containers from this version on."""
    return version_tuple(version) >= NATIVE_SIDECARS_FROM


def version_tuple(version: str) -> tuple[int, int]:
    major, minor = version.split(".")
    return int(major), int(minor)


def param_value(field: str, kind: str, value: Any, choices: tuple = (), required: bool = False) -> Any:
    """Check one template parameter against its declared type; a required one is not empty."""
    if required and value == "":
        raise _refuse(field, value, "is required: this parameter has no default")
    if kind == "port":
        value = port(field, value)
    elif kind == "int":
        # Non-negative and within int32: what Kubernetes fields (seconds, counts) accept.
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31:
            raise _refuse(field, value, "is not a whole number from 0 to 2147483647")
    elif kind == "bool":
        if not isinstance(value, bool):
            raise _refuse(field, value, "is not true or false")
    elif kind == "str":
        if not isinstance(value, str) or any(ord(c) < 32 or c == "\x7f" for c in value):
            raise _refuse(field, value, "is not a single-line string")
    elif kind == "path":
        value = url_path(field, value)
    elif kind == "host":
        if not isinstance(value, str) or (value and not _HOST.fullmatch(value)):
            raise _refuse(field, value, "is not a host name or IP address")
    if choices and value not in choices:
        raise _refuse(field, value, f"is not one of {', '.join(map(str, choices))}")
    return value


def param_schema(kind: str, choices: tuple = ()) -> dict[str, Any]:
    """param_value's rule for one parameter type as JSON Schema (the Helm chart's
    values.schema.json, which helm checks values against before it renders)."""
    schema: dict[str, Any] = {
        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
        "int": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
        "bool": {"type": "boolean"},
        "str": {"type": "string", "pattern": "^[^\\x00-\\x1f\\x7f]*$"},
        "path": {"type": "string", "maxLength": 200, "pattern": f"^{_URL_PATH.pattern}$"},
        "host": {"type": "string", "pattern": f"^(?:{_HOST.pattern})?$"},
    }[kind]
    if choices:
        schema["enum"] = list(choices)
    return schema


_PORT_NAME = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?")


def is_port_name(name: str) -> bool:
    return bool(_PORT_NAME.fullmatch(name)) and any(c.isalpha() for c in name) and "--" not in name


_CONFIG_KEY = re.compile(r"[-._a-zA-Z0-9]{1,253}")


def config_key(path: str) -> str:
    """A config file's key in its ConfigMap: keys cannot hold '/', so subfolders are flattened."""
    return path.replace("/", "__")


def config_file_problem(path: str) -> str | None:
    """Why a template's config file name (without .j2) cannot be a ConfigMap key, or None."""
    if not _CONFIG_KEY.fullmatch(config_key(path)):
        return (f"file name {shown(path)} cannot be a ConfigMap key: use letters, digits, '-', '_' "
                "and '.' (at most 253)")
    return None


def is_secret_key(key: str) -> bool:
    """A Secret's data key (the same alphabet as a ConfigMap's), which is also a file name."""
    return bool(_CONFIG_KEY.fullmatch(key)) and key not in (".", "..")


def is_printable(value: str) -> bool:
    return all(c.isprintable() for c in value)


def printable(field: str, value: str) -> str:
    """Text the tool prints and records (names, versions, summaries): no control characters."""
    if any(not c.isprintable() for c in value):
        raise _refuse(field, value, "holds a control character (a newline, tab or escape)")
    return value


def is_safe_relative(path: str) -> bool:
    """True for a plain relative path that stays inside the output folder."""
    if not path or "\\" in path or "\x00" in path:
        return False
    pure = PurePosixPath(path)
    return not pure.is_absolute() and ".." not in pure.parts and str(pure) == path


# --- environment variables: plain values, and references to Secret / ConfigMap keys ---------

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# A variable named like this holds a credential: its value belongs in a Secret, never in an
# answers file, a template or the output (the catalog schema and the request share this rule).
_SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY", re.I)
# Secret and ConfigMap names are DNS-1123 subdomains; their keys the ConfigMap key characters.
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
ENV_SOURCES = ("secret", "config_map")


@dataclass(frozen=True, slots=True)
class EnvSource:
    """A Secret or a ConfigMap the container reads: one key (an environment variable's value,
    `{secret: NAME/KEY}`) or, with no key, every key (`env_from: [{secret: NAME}]`). Only the
    reference travels through the tool; the value stays in the cluster or in a file the user
    keeps (model/pod.py's EnvVar holds it for a container)."""

    kind: str  # "secret" | "config_map"
    name: str
    key: str | None = None

    def as_answer(self) -> dict[str, str]:
        """Back to the answers' shape ({secret: NAME/KEY}), for the record."""
        return {self.kind: self.name if self.key is None else f"{self.name}/{self.key}"}


def object_name(field: str, value: Any) -> str:
    """The name of a Secret, ConfigMap or similar object: a DNS-1123 subdomain."""
    if not isinstance(value, str) or not _SUBDOMAIN.fullmatch(value) or len(value) > 253:
        raise _refuse(field, value, "is not a Kubernetes object name (a DNS-1123 subdomain: lower-case "
                                    "letters, digits, '-' and '.')")
    return value


def looks_like_secret(name: str) -> bool:
    """An environment variable named like a password, token, secret or API key."""
    return bool(_SECRET_NAME.search(name))


def is_env_name(name: str) -> bool:
    return bool(_ENV_NAME.fullmatch(name)) and len(name) <= 253


def env_name(field: str, value: Any) -> str:
    if not isinstance(value, str) or not is_env_name(value):
        raise _refuse(field, value, "is not an environment variable name (letters, digits and '_', "
                                    "not starting with a digit)")
    return value


def _source(field: str, value: Any, with_key: bool) -> EnvSource:
    form = "{secret: NAME/KEY} or {config_map: NAME/KEY}" if with_key else "{secret: NAME} or {config_map: NAME}"
    if not isinstance(value, dict) or len(value) != 1 or next(iter(value)) not in ENV_SOURCES:
        raise _refuse(field, value, f"must be a plain value or one of {form}" if with_key else f"must be {form}")
    kind, text = next(iter(value.items()))
    parts = text.split("/") if isinstance(text, str) else []
    name, key = (parts + [None])[:2] if len(parts) == (2 if with_key else 1) else (None, None)
    if name is None or not _SUBDOMAIN.fullmatch(name) or len(name) > 253:
        raise _refuse(f"{field}.{kind}", text, f"must be {'NAME/KEY' if with_key else 'NAME'}: the name of "
                                               f"a {'Secret' if kind == 'secret' else 'ConfigMap'} "
                                               "(a DNS-1123 subdomain)" + (" and one of its keys" if with_key else ""))
    if with_key and not _CONFIG_KEY.fullmatch(key):
        raise _refuse(f"{field}.{kind}", text, "names no valid key after '/' (letters, digits, '-', '_' and '.')")
    return EnvSource(kind, name, key)


def env_value(field: str, name: str, value: Any) -> str | EnvSource:
    """One variable's value: a plain string (numbers are written as text), or a reference to a
    Secret or ConfigMap key. A variable named like a secret must be a reference: its value
    would otherwise sit in the answers, the record and every generated file."""
    if isinstance(value, dict):
        return _source(field, value, with_key=True)
    if isinstance(value, bool):  # YAML 1.1 reads on/off/yes/no as booleans too
        raise _refuse(field, value, "is a YAML boolean; quote it (\"true\", \"on\") to pass it as text")
    if not isinstance(value, (str, int, float)):
        raise _refuse(field, value, "must be a plain value or one of {secret: NAME/KEY} or {config_map: NAME/KEY}")
    text = str(value)
    if "\x00" in text:
        raise _refuse(field, value, "holds a NUL character")
    if text and looks_like_secret(name):
        # The value is not repeated: the message may end up in a terminal log or a CI job.
        raise RuleError(f"{field}: looks like a secret: give a reference, {{secret: NAME/KEY}}, so its "
                        "value stays out of the answers, the record and the output")
    return text


def env_from(field: str, value: Any) -> EnvSource:
    """Every key of a Secret or ConfigMap as environment variables: {secret: NAME}."""
    return _source(field, value, with_key=False)
