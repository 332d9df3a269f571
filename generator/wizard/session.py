"""The wizard: asks in the terminal for what the answers lack and returns the answers dict.

It renders nothing itself: the CLI sends what it returns through parse_spec and the
pipeline exactly as it would an --answers file, so both paths give the same files.
Only the interactive path imports this module (questionary takes ~0.1 s to import).
"""

from __future__ import annotations

import copy
import re
import shlex
import shutil
from pathlib import Path
from typing import Any, Callable

import questionary
from prompt_toolkit.key_binding import KeyBindings, merge_key_bindings
from questionary import Choice, Separator

from generator import rules
from generator.wizard import checks
from generator.catalog.capabilities import describe
from generator.catalog.loader import Catalog, Template
from generator.errors import SidecarError, SpecError
from generator.input.spec import DEFAULTS
from generator.wizard.summary import pod_picture, summary

# (key, question, rule, optional): the app, in the order a person thinks about it.
_APP = (
    ("name", "App name (lower-case letters, digits and '-')", rules.service_name, False),
    ("image", "App image, pinned to a tag or @sha256 digest", rules.image, False),
    ("port", "Port the app listens on", rules.port, False),
    ("health_path", "Health endpoint (HTTP GET, 200 when healthy)", rules.http_target, False),
    ("log_dir", "Folder the app writes log files to (empty: logs only to stdout)", rules.log_dir, True),
    ("metrics_path", "Metrics endpoint Prometheus scrapes (empty: none)", rules.url_path, True),
)
# "Change answers": the sections a person can pick, each the questions it asks again.
_SECTIONS = (
    ("The app: name, image, port, health path, logs, metrics", tuple(f"app.{q[0]}" for q in _APP)),
    ("The sidecars: which ones (a new one's parameters are asked)", ("sidecars",)),
    ("The sidecars' parameters", ("params",)),
    ("Targets, and Compose's health command", ("targets", "app.health_command")),
    ("Kubernetes: version, namespace, replicas", ("kubernetes.version", "kubernetes.namespace", "app.replicas")),
    # Never asked unless picked here: a newcomer meets none of these questions.
    ("Advanced: environment and secrets, resources, user, writable folders, command, pull secrets",
     ("advanced",)),
)
_NEEDED_DEFAULTS = {"log_dir": "/var/log/app", "metrics_path": "/metrics"}
_TARGETS = (("compose and kubernetes", "both"), ("compose only", "compose"),
            ("kubernetes only", "kubernetes"), ("helm chart only", "helm"),
            ("compose, kubernetes and a helm chart", "all"))


def _target_choice(targets: tuple[str, ...]) -> str:
    """The select's entry for these targets (a mix it does not list: both)."""
    for _, value in _TARGETS:
        if rules.targets("targets", value) == targets:
            return value
    return "both"


def run_wizard(raw: dict[str, Any], catalog: Catalog, *, ask_all: bool = False,
               allow_unpinned: bool = False, output: Path | None = None, force: bool = False,
               confirm: bool = True, complete: bool = False) -> dict[str, Any]:
    """Ask for every missing (or, with ask_all, every) answer, show the summary and the
    pod, and return the answers once the user confirms. Ctrl-C/Ctrl-D propagate.
    complete: the answers are a recorded request (.sidecar-new.yaml), whose optional answers
    were left empty on purpose where absent; they are not asked again."""
    wizard = _Wizard(copy.deepcopy(raw), catalog, ask_all, allow_unpinned, output)
    wizard.complete = complete
    if confirm:
        wizard.blocked = lambda dest: _blocked(dest, force)
    while True:
        wizard.ask_everything()
        # An existing folder matters only to a write: a --diff or --dry-run is made for one.
        blocked = confirm and _blocked(wizard.dest(), force)
        try:
            print(summary(wizard.answers, catalog, allow_unpinned, wizard.dest(), blocked))
        except SpecError as problem:  # a rule only the whole request can check
            _warn(f"these answers cannot be rendered: {problem.message}")
            if _ask(questionary.select("What now?", default="change", choices=[
                    Choice("Change answers", "change"), Choice("Quit without writing", "quit")])) == "quit":
                raise
            wizard.choose_changes()
            continue
        if not confirm:  # nothing is asked after it: the picture cannot push a question away
            print(pod_picture(wizard.answers, catalog, allow_unpinned))
            return wizard.answers
        dest = wizard.dest()
        blocked = _blocked(dest, force)
        write = Choice(f"Write them to {dest}/", "write", disabled="it exists: run again with --force, "
                       "or --diff to compare" if blocked else None)
        choices = [write, Choice("Change answers", "change"), Choice("Quit without writing", "quit"),
                   Choice("Show the pod picture", "picture")]
        action = "picture"
        while action == "picture":  # the picture runs long: shown on request, then asked again
            action = _ask(questionary.select("Write these files?", choices,
                                             default="change" if blocked else "write"))
            if action == "picture":
                print(pod_picture(wizard.answers, catalog, allow_unpinned))
        if action == "write":
            return wizard.answers
        if action == "quit":
            _offer_to_save(wizard.answers)
            raise SidecarError("quit at the summary; nothing written")
        wizard.choose_changes()  # go round again, asking only what the person picks


def _offer_to_save(answers: dict[str, Any]) -> None:
    """Quitting need not lose every answer: offer to keep them for a replay with --answers."""
    from generator.output.writer import check_answers_target, save_answers

    if not _ask(questionary.confirm("Save these answers to a file, to pick up later with --answers?",
                                    default=True)):
        return

    def usable(text: str) -> Path:
        check_answers_target(Path(text))
        return Path(text)

    path = _text("Answers file", f"{answers['app'].get('name') or 'answers'}-answers.yaml",
                 lambda p: usable(str(p)), str.strip)
    save_answers(answers, Path(path))
    print(f"saved the answers to {path}; replay with: sidecar-new new --answers {path}")


def _blocked(dest: Path, force: bool) -> bool:
    """The writer would refuse an existing folder: do not offer what must fail."""
    return not force and dest.is_dir() and any(dest.iterdir())


class _Wizard:
    def __init__(self, answers: dict[str, Any], catalog: Catalog, ask_all: bool,
                 allow_unpinned: bool, output: Path | None) -> None:
        self.answers, self.catalog, self.ask_all = answers, catalog, ask_all
        self.allow_unpinned, self.output = allow_unpinned, output
        self.advanced: bool | None = None
        self.complete = False  # a record: absent optional answers were left empty on purpose
        self.blocked: Callable[[Path], bool] | None = None  # set when the answers will be written
        self.noted: set[Path] = set()
        self.given: dict[str, dict] = {}
        self.picked: set[str] = set()
        self.typed_app = False  # an app question was asked: the person is answering, not a file
        # Changing answers: the questions (ids as in _SECTIONS) asked again; None: as usual.
        self.focus: set[str] | None = None
        self.seen: dict[str, None] = {}  # every question met so far, in order (a set that keeps it)

    def choose_changes(self) -> None:
        """Change answers: a section or one question is asked again, the rest kept."""
        sections = [Choice(label, qids) for label, qids in _SECTIONS if self.section_open(qids)]
        picked = _ask(questionary.select("What to change?", [
            *sections, Choice("One question...", "one"),
            Choice("Every question (the current answers as defaults)", "all")]))
        if picked == "all":
            self.ask_all, self.focus = True, None
            return
        if picked == "one":
            picked = (_ask(questionary.select("Which question?", [
                Choice(_clip(f"{qid:<30} {self.current(qid)}", 100), qid) for qid in self.seen])),)
        self.ask_all, self.focus = False, set(picked)

    def section_open(self, qids: tuple[str, ...]) -> bool:
        """Offer a section only when one of its questions applies (parameters need sidecars,
        Kubernetes needs the target)."""
        return any(q in self.seen or q == "advanced"
                   or q == "params" and any(s.startswith("sidecars.") for s in self.seen) for q in qids)

    def current(self, qid: str) -> str:
        """A question's answer as the list of questions shows it."""
        if qid == "sidecars":
            names = [name for name, _ in checks.prefilled_sidecars(self.answers.get("sidecars"), self.catalog)]
            return ", ".join(names) or "none"
        node: Any = self.answers
        parts = qid.split(".")
        if parts[0] == "sidecars":  # sidecars.<name>.<param>
            given = dict(checks.prefilled_sidecars(self.answers.get("sidecars"), self.catalog)).get(parts[1], {})
            template = self.catalog.get(parts[1])
            return str(given.get(parts[2], template.param(parts[2]).default))
        for part in parts:
            node = node.get(part) if isinstance(node, dict) else None
        if qid == "app.replicas" and node is None:
            return str(DEFAULTS["replicas"])
        if isinstance(node, list):
            return " ".join(map(str, node)) or "none"
        return "(empty)" if node in (None, "") else str(node)

    def dest(self) -> Path:
        return self.output or Path(self.answers["app"]["name"])

    def ask_everything(self) -> None:
        if not isinstance(self.answers.get("app"), dict):
            self.answers["app"] = {}
        self.note_existing_output()  # the name (or --output) may be known already
        try:
            self.ask_round()
        finally:
            self.focus = None

    def ask_round(self) -> None:
        for key, question, rule, optional in _APP:
            self.app_question(key, question, rule, optional)
        names = self.sidecar_choice()
        for sidecar, need in checks.missing_needs(names, self.catalog, self.answers["app"]):
            entry = next((q for q in _APP if q[0] == need), None)
            if entry:
                key, question, rule, _ = entry
                self.app_question(key, f"{question.split(' (')[0]} (needed by {sidecar})", rule,
                                  False, force=True, default=_NEEDED_DEFAULTS.get(key, ""))
        self.sidecar_params(names)
        self.targets()
        self.advanced_settings()

    def advanced_settings(self) -> None:
        """Only when picked under Change answers (the section, or one of its questions)."""
        from generator.wizard.advanced import QUESTIONS, ask_advanced

        if self.focus is None or not self.focus & {"advanced", *QUESTIONS}:
            return
        kubernetes = "kubernetes" in rules.targets("targets", self.answers.get("targets", "both"))
        only = None if "advanced" in self.focus else self.focus & set(QUESTIONS)
        ask_advanced(self.answers, _text, kubernetes, self.seen, only)

    def app_question(self, key: str, question: str, rule: Callable, optional: bool,
                     force: bool = False, default: Any = None) -> None:
        app, field = self.answers["app"], f"app.{key}"
        if key == "image":
            rule = lambda f, v: rules.image(f, v, self.allow_unpinned)  # noqa: E731
        if optional and self.complete and key not in app and not force and not self.ask_all \
                and not self.focused(field):
            self.seen[field] = None
            return
        if not force and not self.should_ask(app, key, lambda v: optional and v is None or rule(field, v),
                                             field):
            return
        self.typed_app = True
        default = app.get(key) or default or self.app_default(key)
        convert = checks.to_int if key == "port" else str.strip
        value = _text(question, default, lambda v: optional and v == "" or rule(field, v), convert)
        if optional and value == "":
            app.pop(key, None)
        else:
            app[key] = value
        if key == "name":
            self.note_existing_output()

    def note_existing_output(self) -> None:
        """Say early, not only at the summary after every question, that the output folder
        is in the way (once a folder)."""
        if self.blocked is None or (self.output is None and not self.answers["app"].get("name")):
            return
        dest = self.dest()
        if dest not in self.noted and self.blocked(dest):
            self.noted.add(dest)
            _warn(f"{dest}/ exists and is not empty: writing needs --force (or quit and pick another "
                  "--output; --diff compares)")

    def focused(self, qid: str) -> bool:
        """The person picked this question (or its section) to change."""
        return self.focus is not None and (
            qid in self.focus or qid.startswith("sidecars.") and "params" in self.focus)

    def should_ask(self, section: dict, key: str, valid: Callable[[Any], Any], qid: str = "") -> bool:
        """Skip a question the answers already hold, unless --ask-all or the value breaks a rule.
        While changing answers, only the picked questions are asked, and those met before
        keep their answer (an empty optional one stays empty) unless a change broke it."""
        met = qid in self.seen
        self.seen[qid] = None
        if self.focused(qid):
            return True
        if self.focus is not None and met:
            if key not in section:
                return False
        elif key not in section or self.ask_all:
            return True
        try:
            valid(section[key])
            return False
        except (SpecError, rules.RuleError) as exc:
            _warn(_reason(exc))
            return True

    def app_default(self, key: str) -> Any:
        if key == "name":
            base = self.output.name.lower() if self.output else ""
            return re.sub(r"[^a-z0-9-]+", "-", base).strip("-")[:63].strip("-") or "my-service"
        if key == "image":
            return f"{self.answers['app']['name']}:0.1.0"
        return DEFAULTS.get(key, "")  # log_dir and metrics_path have none: empty is "no"

    def sidecar_choice(self) -> list[str]:
        entries = checks.prefilled_sidecars(self.answers.get("sidecars"), self.catalog)
        self.given = {name: params for name, params in entries}
        names = [name for name, _ in entries]
        app = checks.app_of(self.answers["app"])
        self.picked: set[str] = set()  # chosen now: their parameters are asked
        self.seen["sidecars"] = None
        if "sidecars" in self.answers and not self.ask_all and not self.focused("sidecars"):
            problem = checks.selection_problem(names, self.catalog, app, self.given)
            if problem is None:
                return names  # the answers chose them, and (by default) their parameters
            _warn(problem)
        width = max(40, shutil.get_terminal_size((100, 24)).columns - 6)  # " » ○ " before it
        choices: list[Any] = []
        for capability in dict.fromkeys(t.capability for t in self.catalog.templates):
            # One line says what the capability is for, so the choice is among alternatives.
            choices.append(Separator(_clip(f"-- {capability}: {describe(capability)}", width)))
            choices += [Choice(_clip(f"{t.name:<12}{t.summary}", width), t.name, checked=t.name in names)
                        for t in self.catalog.templates if t.capability == capability]
        names = _ask(questionary.checkbox(
            "Sidecars", choices, instruction="(arrows move, space picks, enter when done)",
            validate=lambda picked: checks.selection_problem(picked, self.catalog, app, self.given) or True))
        self.picked = set(names)
        return names

    def sidecar_params(self, names: list[str]) -> None:
        templates = [self.catalog.get(name) for name in names]
        asked = {t.name for t in templates if t.name in self.picked or self.focused("params")}
        advanced = [f"{t.name}.{p.name}" for t in templates if t.name in asked
                    for p in t.params if p.advanced]
        advanced = advanced if len(advanced) <= 3 else [*advanced[:2], f"{len(advanced) - 2} more"]
        if advanced and (self.advanced is None or self.ask_all or self.focus and self.focus & {"params", "sidecars"}):
            self.advanced = _ask(questionary.confirm(
                f"Also set the sidecars' advanced parameters ({', '.join(advanced)})?",
                default=bool(self.advanced)))
        app = checks.app_of(self.answers["app"])
        taken = checks.app_ports(app)  # the port ledger, as parse_spec walks it
        sidecars: list[Any] = []
        for template in templates:
            given = dict(self.given.get(template.name, {}))
            for param in template.params:
                check = lambda v, p=param.name: checks.check_param(template, p, v)  # noqa: E731
                qid = f"sidecars.{template.name}.{param.name}"
                optional = not param.required and param.name not in given
                picked_alone = self.focus is not None and qid in self.focus
                if optional and not picked_alone and (
                        template.name not in asked or param.advanced and not self.advanced):
                    continue
                if self.should_ask(given, param.name, check, qid):
                    given[param.name] = _param(template, param, given, app, taken)
            self.resolve_clashes(template, given, app, taken)
            sidecars.append({"name": template.name, "params": given} if given else template.name)
        self.answers["sidecars"] = sidecars

    def resolve_clashes(self, template: Template, given: dict, app, taken: checks.PortLedger) -> None:
        """Re-ask a port parameter (asked or not) whose port the app or a sidecar already has."""
        while True:
            values = checks.param_values(template, given)
            clashes = checks.port_clashes(template, app, values, taken)
            if not clashes:
                checks.claim_ports(template, app, values, taken)
                return
            clash = next((c for c in clashes if c.param), None)
            if clash is None:
                raise SpecError(f"sidecars.{template.name}: {clashes[0].reason}")
            _warn(f"sidecars.{template.name}.params.{clash.param}: {clash.reason}; pick another")
            given[clash.param] = _param(template, template.param(clash.param), given, app, taken)

    def targets(self) -> None:
        if self.should_ask(self.answers, "targets", lambda v: rules.targets("targets", v), "targets"):
            try:
                current = rules.targets("targets", self.answers.get("targets", "both"))
            except rules.RuleError:
                current = rules.DEFAULT_TARGETS
            chosen = _ask(questionary.select("Targets", [Choice(t, v) for t, v in _TARGETS],
                                             default=_target_choice(current)))
            self.answers["targets"] = list(rules.targets("targets", chosen))
        chosen_targets = rules.targets("targets", self.answers["targets"])
        if "compose" in chosen_targets:
            self.health_command()
        if not {"kubernetes", "helm"} & set(chosen_targets):
            return
        if not isinstance(self.answers.get("kubernetes"), dict):
            self.answers["kubernetes"] = {}
        kube = self.answers["kubernetes"]
        if self.should_ask(kube, "version", lambda v: rules.kubernetes_version("kubernetes.version", v),
                           "kubernetes.version"):
            versions = [Choice(f"{v}  {'native' if rules.native_sidecars(v) else 'classic'} sidecars", v)
                        for v in reversed(rules.KUBERNETES_VERSIONS)]
            current = str(kube.get("version", rules.DEFAULT_KUBERNETES_VERSION))
            kube["version"] = _ask(questionary.select(
                "Kubernetes version of the cluster", versions,
                default=current if current in rules.KUBERNETES_VERSIONS else rules.DEFAULT_KUBERNETES_VERSION))
        if self.should_ask(kube, "namespace", lambda v: checks.namespace("kubernetes.namespace", v),
                           "kubernetes.namespace"):
            kube["namespace"] = _text("Kubernetes namespace (the base ships it when named after the app)",
                                      kube.get("namespace") or self.answers["app"]["name"],
                                      lambda v: checks.namespace("kubernetes.namespace", v), str.strip)
        app = self.answers["app"]
        if self.newer_question(app, "replicas", lambda v: rules.replicas("app.replicas", v), "app.replicas"):
            app["replicas"] = _text("Replicas: copies of the pod Kubernetes keeps running (1 to 100)",
                                    app.get("replicas", DEFAULTS["replicas"]),
                                    lambda v: rules.replicas("app.replicas", v), checks.to_int)

    def newer_question(self, section: dict, key: str, valid: Callable[[Any], Any], qid: str) -> bool:
        """Replicas and the health command came after the first answers files: absent from a
        file that answers the whole app they keep their default (2, none) rather than stop a
        replay with a question; asked when the person is typing the app's answers."""
        if key not in section and not (self.typed_app or self.ask_all or self.focused(qid)):
            self.seen[qid] = None
            return False
        return self.should_ask(section, key, valid, qid)

    def health_command(self) -> None:
        """Compose's healthcheck for the app, exec form (no shell: the image may have none)."""
        app, field = self.answers["app"], "app.health_command"
        if self.newer_question(app, "health_command", lambda v: rules.command(field, v), field):
            value = _text("Health command Compose runs in the app's container, e.g. wget -q --spider "
                          "http://127.0.0.1:8080/healthz (exec form, no shell; empty: none)",
                          shlex.join(app.get("health_command") or []),
                          lambda v: v == [] or rules.command(field, v), _command_words)
            if value:
                app["health_command"] = value
            else:
                app.pop("health_command", None)


def _command_words(text: str) -> list[str]:
    """A command typed as words (quotes group them, as in a shell) into its exec-form list."""
    try:
        return shlex.split(text)
    except ValueError as exc:  # an open quote: said under the prompt, asked again
        raise rules.RuleError(f"app.health_command: {exc} in {text!r}") from None


def _param(template: Template, param, given: dict, app, taken: checks.PortLedger) -> Any:
    field = f"sidecars.{template.name}.params.{param.name}"
    question = f"{template.name} {param.name}: {param.help}"
    default = given.get(param.name, None if param.required else param.default)
    if param.choices:
        return _ask(questionary.select(question, [Choice(str(c), c) for c in param.choices],
                                       default=default if default in param.choices else None))
    if param.type == "bool":
        return _ask(questionary.confirm(question, default=bool(default)))

    def rule(value: Any) -> None:
        checks.check_param(template, param.name, value)
        if param.type == "port":  # a port already taken is refused here, with its owner
            values = checks.param_values(template, {**given, param.name: value}) or {}
            clashes = checks.port_clashes(template, app, values, taken) if values else []
            for clash in clashes:
                if clash.number == value:
                    raise SpecError(f"{field}: {clash.reason}")

    if param.type == "port" and type(default) is int:
        default = _free_port(default, rule)
    convert = checks.to_int if param.type in ("int", "port") else str.strip
    return _text(question, "" if default is None else default, rule, convert)


def _free_port(wanted: int, rule: Callable[[Any], Any]) -> int:
    """The template's default port, or the next one up that nothing in the pod has taken:
    offered as the default instead of refused after Enter."""
    for port in range(wanted, min(wanted + 1000, 65536)):
        try:
            rule(port)
            return port
        except (SpecError, rules.RuleError):
            continue
    return wanted  # none free nearby: the rule will say why when it is refused


def _text(question: str, default: Any, rule: Callable[[Any], Any], convert: Callable[[str], Any]) -> Any:
    def validate(text: str) -> bool | str:
        try:
            rule(convert(text))
            return True
        except (SidecarError, rules.RuleError) as exc:  # shown under the prompt; the question stays open
            return _reason(exc)

    prompt = questionary.text(question, default=str(default), validate=validate)
    _roomy_errors(prompt.application)
    return convert(_ask(prompt))


def _roomy_errors(app) -> None:
    """prompt_toolkit's validation toolbar is one line and cuts a rule's reason at the
    terminal's edge; let it wrap onto up to three lines."""
    from prompt_toolkit.filters import to_filter
    from prompt_toolkit.layout.dimension import Dimension

    for window in app.layout.find_all_windows():
        if "ValidationToolbar" in getattr(getattr(window.content, "text", None), "__qualname__", ""):
            window.height = Dimension(min=1, max=3)
            window.wrap_lines = to_filter(True)


def _ask(question: questionary.Question) -> Any:
    """Ask; Ctrl-C raises KeyboardInterrupt and Ctrl-D EOFError, in every kind of prompt
    (questionary's own .ask() would swallow Ctrl-C and return None)."""
    bindings = KeyBindings()

    @bindings.add("c-d", eager=True)
    def _eof(event) -> None:
        event.app.exit(exception=EOFError, style="class:aborting")

    app = question.application
    app.key_bindings = merge_key_bindings([app.key_bindings, bindings]) if app.key_bindings else bindings
    return question.unsafe_ask()


def _reason(exc: SidecarError | rules.RuleError) -> str:
    """The words parse_spec would use: a rule's message with its hint (--allow-unpinned)."""
    return exc.with_hint if isinstance(exc, rules.RuleError) else exc.message


def _warn(message: str) -> None:
    print(f"! {message}")


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."
