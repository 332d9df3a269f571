"""The wizard's advanced step: the app's environment and secret references, resources, user,
writable folders, command and args, and image pull secrets. Asked only when the person picks
"Advanced" under Change answers, so a newcomer meets no extra question.

Each answer is typed on one line and converted to the answers' shape, then checked by the
same parsers an answers file goes through (input/runtime.py), so both say the same thing.
"""

from __future__ import annotations

import shlex
from typing import Any, Callable

from generator import rules
from generator.input import runtime
from generator.input.spec import pull_secrets

# qid -> the question; the qids are the answers' dotted paths (the "One question..." list shows them).
QUESTIONS = {
    "app.env": "Environment, space-separated NAME=value; a Secret key NAME=secret:SECRET/KEY, a "
               "ConfigMap key NAME=config_map:MAP/KEY (empty: none)",
    "app.env_from": "Secrets/ConfigMaps whose every key becomes a variable: secret:NAME config_map:NAME "
                    "(empty: none)",
    "app.resources.requests.cpu": "App CPU request (e.g. 250m, 0.5)",
    "app.resources.limits.cpu": "App CPU limit",
    "app.resources.requests.memory": "App memory request (e.g. 256Mi)",
    "app.resources.limits.memory": "App memory limit",
    "app.user": f"App user as UID[:GID], both >= {rules.MIN_UID}",
    "app.writable_paths": "Folders the app writes besides /tmp, space-separated PATH[=SIZE] (empty: none)",
    "app.command": "App command, replacing the image's entrypoint (words; empty: the image's)",
    "app.args": "App arguments (words; empty: the image's)",
    "kubernetes.image_pull_secrets": "Image pull secrets, space-separated Secret names (empty: none)",
}
_SOURCES = tuple(f"{kind}:" for kind in rules.ENV_SOURCES)


def ask_advanced(answers: dict[str, Any], text: Callable[..., Any], kubernetes: bool,
                 seen: dict[str, None], only: set[str] | None = None) -> None:
    """Ask the advanced questions (`only` these, if given), the current answers as defaults;
    `text(question, default, rule, convert)` is the wizard's text prompt."""
    app = answers["app"]
    for qid, (shown, parse, check) in _FIELDS.items():
        if qid == "kubernetes.image_pull_secrets" and not kubernetes or only is not None and qid not in only:
            continue
        seen[qid] = None
        section = answers.setdefault("kubernetes", {}) if qid.startswith("kubernetes.") else app
        key = qid.split(".", 1)[1]
        if key.startswith("resources."):
            _ask_resource(app, key, text)
            continue
        value = text(QUESTIONS[qid], shown(section.get(key)), lambda v, c=check: c(v, app), parse)
        if value in ([], {}, None):
            section.pop(key, None)
        else:
            section[key] = value


def _ask_resource(app: dict[str, Any], key: str, text: Callable[..., Any]) -> None:
    _, part, name = key.split(".")
    resources = app.get("resources") if isinstance(app.get("resources"), dict) else {}
    values = resources.get(part) if isinstance(resources.get(part), dict) else {}
    defaults = dict(runtime.REQUESTS if part == "requests" else runtime.LIMITS)
    # Checked alone (a limit below its request is said at the summary, where both are known).
    value = text(QUESTIONS[f"app.{key}"], values.get(name, defaults[name]),
                 lambda v: runtime.resources({part: {name: v}} if part == "limits" else
                                             {part: {name: v}, "limits": {name: v}}), str.strip)
    # Only what differs from the default is kept, as the record keeps it.
    values = {**values, name: value}
    if value == defaults[name]:
        values.pop(name)
    resources = {**resources, part: values} if values else {k: v for k, v in resources.items() if k != part}
    if resources:
        app["resources"] = resources
    else:
        app.pop("resources", None)


# --- one line of text <-> the answers' shape ---------------------------------------------

def env_text(value: Any) -> str:
    if not isinstance(value, dict):
        return ""
    words = []
    for name, item in value.items():
        if isinstance(item, dict) and len(item) == 1:
            kind, ref = next(iter(item.items()))
            words.append(f"{name}={kind}:{ref}")
        else:
            words.append(f"{name}={item}")
    return shlex.join(words)


def parse_env(text: str) -> dict[str, Any]:
    env: dict[str, Any] = {}
    for word in _words("app.env", text):
        name, sep, value = word.partition("=")
        if not sep:
            raise rules.RuleError(f"app.env: {word!r} must be NAME=value")
        kind = next((k for k in _SOURCES if value.startswith(k)), None)
        env[name] = {kind[:-1]: value[len(kind):]} if kind else value
    return env


def env_from_text(value: Any) -> str:
    if not isinstance(value, list):
        return ""
    return " ".join(f"{k}:{v}" for item in value if isinstance(item, dict) for k, v in item.items())


def parse_env_from(text: str) -> list[dict[str, str]]:
    found = []
    for word in _words("app.env_from", text):
        kind = next((k for k in _SOURCES if word.startswith(k)), None)
        if kind is None:
            raise rules.RuleError(f"app.env_from: {word!r} must be secret:NAME or config_map:NAME")
        found.append({kind[:-1]: word[len(kind):]})
    return found


def user_text(value: Any) -> str:
    if not isinstance(value, dict):
        return f"{runtime.USER}:{runtime.USER}"
    uid = value.get("uid", runtime.USER)
    return f"{uid}:{value.get('gid', uid)}"


def parse_user(text: str) -> dict[str, Any] | None:
    uid, _, gid = text.strip().partition(":")
    try:
        user = {"uid": int(uid), "gid": int(gid or uid)}
    except ValueError:
        raise rules.RuleError(f"app.user: {text.strip()!r} must be UID or UID:GID (whole numbers)") from None
    return None if user == {"uid": runtime.USER, "gid": runtime.USER} else user


def paths_text(value: Any) -> str:
    if not isinstance(value, list):
        return ""
    return " ".join(f"{item['path']}={item.get('size', runtime.SCRATCH_SIZE)}" if isinstance(item, dict)
                    else str(item) for item in value)


def parse_paths(text: str) -> list[Any]:
    found: list[Any] = []
    for word in _words("app.writable_paths", text):
        path, sep, size = word.partition("=")
        found.append({"path": path, "size": size} if sep else path)
    return found


def words_text(value: Any) -> str:
    return shlex.join(map(str, value)) if isinstance(value, list) else ""


def _words(field: str, text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError as exc:  # an open quote: said under the prompt, asked again
        raise rules.RuleError(f"{field}: {exc} in {text!r}") from None


def _words_of(field: str) -> Callable[[str], list[str]]:
    return lambda text: _words(field, text)


_RESOURCE = (str, str.strip, lambda v, app: v)  # asked by _ask_resource
# qid -> (answer -> text shown as the default, text -> answer, (answer, app) -> checked or raises)
_FIELDS: dict[str, tuple[Callable[[Any], str], Callable[[str], Any], Callable[[Any, dict], Any]]] = {
    "app.env": (env_text, parse_env, lambda v, app: runtime.env(v)),
    "app.env_from": (env_from_text, parse_env_from, lambda v, app: runtime.env_from(v)),
    "app.resources.requests.cpu": _RESOURCE,
    "app.resources.limits.cpu": _RESOURCE,
    "app.resources.requests.memory": _RESOURCE,
    "app.resources.limits.memory": _RESOURCE,
    "app.user": (user_text, parse_user, lambda v, app: runtime.user(v)),
    "app.writable_paths": (paths_text, parse_paths, lambda v, app: runtime.writable_paths(v, app.get("log_dir"))),
    "app.command": (words_text, _words_of("app.command"), lambda v, app: runtime.command("app.command", v)),
    "app.args": (words_text, _words_of("app.args"), lambda v, app: runtime.command("app.args", v)),
    "kubernetes.image_pull_secrets": (words_text, _words_of("kubernetes.image_pull_secrets"),
                                      lambda v, app: pull_secrets(v)),
}
