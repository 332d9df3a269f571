"""The wizard, driven in a pseudo-terminal the way a person types: wrong answers re-asked,
conflicts caught while answering, Ctrl-C/Ctrl-D, and the same files as --answers."""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest
import yaml

from conftest import GOLDEN, run_cli, tree_of, write_answers
from generator.catalog.loader import builtin_root, load_catalog

CLEAR, DOWN, ENTER, SPACE = "\x15", "\x1b[B", "\r", " "  # Ctrl-U empties a text field
CTRL_C, CTRL_D = "\x03", "\x04"
# What the person in these tests wants (the questions below depend on it).
FULL_ANSWERS = {
    "app": {"name": "orders-api", "image": "registry.example.com:5000/team/orders:1.4.2",
            "port": 8080, "health_path": "/healthz", "log_dir": "/var/log/app",
            "metrics_path": "/metrics", "replicas": 2},
    "sidecars": ["fluentd", {"name": "envoy", "params": {"listen_port": 10000}}, "metrics"],
    "targets": ["compose", "kubernetes"],
    "kubernetes": {"version": "1.31", "namespace": "orders"},
}
CPR_REQUEST = "\x1b[6n"  # prompt_toolkit asks where the cursor is; a real terminal answers


def spawn(*args: str, cwd: Path) -> pexpect.spawn:
    env = {**os.environ, "TERM": "xterm"}
    child = pexpect.spawn(sys.executable, ["-m", "generator", "new", *args], cwd=str(cwd), env=env,
                          dimensions=(40, 120), encoding="utf-8", timeout=15)
    child.logfile_read = (cwd / "screen.log").open("a")  # the whole session, for a failing test
    return child


def wait_for(child: pexpect.spawn, text) -> str:
    """Wait for text on the screen, answering cursor-position requests like a terminal
    (without an answer prompt_toolkit shows no bottom toolbar and waits on exit)."""
    seen = ""
    while child.expect_exact([text, CPR_REQUEST]) == 1:
        seen += child.before
        child.send("\x1b[1;1R")
    return _plain(seen + (child.before if isinstance(child.before, str) else ""))


def checklist_keys(names: list[str], catalog_root: Path | None = None) -> str:
    """The keys that pick `names` in the wizard's sidecar checklist, which lists the catalog's
    templates grouped by capability (in order of first appearance); the cursor ends on the
    last one picked. So the tests do not break when the catalog grows."""
    templates = load_catalog(catalog_root).templates
    order = [t.name for capability in dict.fromkeys(t.capability for t in templates)
             for t in templates if t.capability == capability]
    last = max(order.index(name) for name in names)
    return "".join((SPACE if name in names else "") + (DOWN if i < last else "")
                   for i, name in enumerate(order[:last + 1]))


def answer(child: pexpect.spawn, question: str, keys: str) -> None:
    wait_for(child, question)
    child.send(keys)


def finish(child: pexpect.spawn) -> str:
    output = wait_for(child, pexpect.EOF)
    child.close()
    return output


def _plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", text).replace("\r", "")


def test_typed_answers_render_the_same_files_as_the_answers_file(tmp_path: Path) -> None:
    child = spawn("--output", "out", "--save-answers", "saved.yaml", cwd=tmp_path)
    answer(child, "App name", CLEAR + "Orders-API" + ENTER)
    wait_for(child, "is not a DNS-1123 label")  # re-asked with the reason, not aborted
    child.send(CLEAR + "orders-api" + ENTER)
    answer(child, "App image", CLEAR + "registry.example.com:5000/team/orders:1.4.2" + ENTER)
    answer(child, "Port the app listens on", CLEAR + "70000" + ENTER)
    wait_for(child, "app.port: 70000 is not a port")
    child.send(CLEAR + "8080" + ENTER)
    answer(child, "Health endpoint", ENTER)
    answer(child, "log files", "/var/log/app" + ENTER)
    answer(child, "Metrics endpoint", "/metrics" + ENTER)
    wait_for(child, "Sidecars")
    wait_for(child, "Fluentd tails the app's log files")  # each template's summary is shown
    child.send(checklist_keys(["fluentd", "envoy", "metrics"]) + ENTER)
    answer(child, "advanced parameters", "n")
    answer(child, "fluentd format", ENTER)
    answer(child, "fluentd forward_host", ENTER)
    answer(child, "envoy listen_port", CLEAR + "8080" + ENTER)
    wait_for(child, "port 8080/TCP (envoy-http) is already taken by the app")
    child.send(CLEAR + "10000" + ENTER)
    answer(child, "Targets", ENTER)
    answer(child, "Health command", ENTER)  # none
    answer(child, "Kubernetes version", DOWN + DOWN + ENTER)  # 1.33 is the default: 1.31
    answer(child, "Kubernetes namespace", CLEAR + "orders" + ENTER)
    answer(child, "Replicas", ENTER)  # 2
    wait_for(child, "Summary")
    answer(child, "Write these files?", ENTER)
    output = finish(child)
    assert child.exitstatus == 0, output
    assert "docker compose -f out/compose.yaml up -d" in output and "kubectl apply -k out/k8s/" in output

    saved = yaml.safe_load((tmp_path / "saved.yaml").read_text())
    assert run_cli("new", "--answers", str(tmp_path / "saved.yaml"), "--no-input",
                   "--output", str(tmp_path / "replayed")).exit_code == 0
    assert tree_of(tmp_path / "out") == tree_of(tmp_path / "replayed")
    # ... and the same as the hand-written answers of the same service.
    write_answers(tmp_path / "full.yaml", FULL_ANSWERS)
    run_cli("new", "--answers", str(tmp_path / "full.yaml"), "--no-input", "--output", str(tmp_path / "by-hand"))
    assert tree_of(tmp_path / "out") == tree_of(tmp_path / "by-hand")
    assert saved["app"]["name"] == "orders-api" and saved["kubernetes"] == {"version": "1.31", "namespace": "orders"}


_FIRST_ANSWERS = [("App name", "a"), ("App image", "team/a:1"), ("Port the app", None),
                  ("Health endpoint", None), ("log files", None), ("Metrics endpoint", None)]


@pytest.mark.parametrize("question, key", [("App name", CTRL_C), ("Port the app", CTRL_D),
                                           ("Sidecars", CTRL_C), ("Sidecars", CTRL_D)])
def test_ctrl_c_or_ctrl_d_at_a_prompt_exits_130_and_writes_nothing(tmp_path: Path, question: str,
                                                                   key: str) -> None:
    child = spawn("--output", "out", "--save-answers", "saved.yaml", cwd=tmp_path)
    for earlier, typed in _FIRST_ANSWERS:
        if earlier == question:
            break
        answer(child, earlier, ENTER if typed is None else CLEAR + typed + ENTER)
    answer(child, question, key)
    output = finish(child)
    assert child.exitstatus == 130, output
    assert "aborted, nothing written" in output
    assert not (tmp_path / "out").exists() and not (tmp_path / "saved.yaml").exists()


def _without(*path: str):
    def change(answers: dict) -> None:
        node = answers
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]
    return change


def _set(value, *path):
    def change(answers: dict) -> None:
        node = answers
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return change


# The later prompts, each reached by an answers file that leaves only it open.
@pytest.mark.parametrize("change, question", [
    (_set({"listen_port": 8080}, "sidecars", 1, "params"), "listens on"),  # a sidecar parameter, re-asked
    (_without("targets"), "Targets"),
    (_without("kubernetes", "version"), "Kubernetes version of the cluster"),
    (_without("kubernetes", "namespace"), "Kubernetes namespace"),
    (_set("envoy", "app", "name"), "What now?"),  # a rule only the whole request checks
], ids=["parameter", "targets", "version", "namespace", "what-now"])
def test_ctrl_c_at_the_later_prompts_exits_130_and_writes_nothing(tmp_path: Path, change, question: str) -> None:
    answers = copy.deepcopy(FULL_ANSWERS)
    change(answers)
    write_answers(tmp_path / "a.yaml", answers)
    child = spawn("--answers", "a.yaml", "--output", "out", "--save-answers", "saved.yaml", cwd=tmp_path)
    answer(child, question, CTRL_C)
    output = finish(child)
    assert child.exitstatus == 130, output
    assert "aborted, nothing written" in output
    assert not (tmp_path / "out").exists() and not (tmp_path / "saved.yaml").exists()


def test_ctrl_c_at_the_summary_writes_nothing(tmp_path: Path) -> None:
    write_answers(tmp_path / "full.yaml", FULL_ANSWERS)
    child = spawn("--answers", "full.yaml", "--output", "out", cwd=tmp_path)
    answer(child, "Write these files?", CTRL_C)
    assert "aborted, nothing written" in finish(child)
    assert child.exitstatus == 130 and not (tmp_path / "out").exists()


def test_quitting_at_the_summary_exits_1_and_writes_nothing(tmp_path: Path) -> None:
    write_answers(tmp_path / "full.yaml", FULL_ANSWERS)
    child = spawn("--answers", "full.yaml", "--output", "out", "--save-answers", "saved.yaml", cwd=tmp_path)
    answer(child, "Write these files?", DOWN + DOWN + ENTER)
    answer(child, "Save these answers to a file", "n")
    assert "quit at the summary; nothing written" in finish(child)
    assert child.exitstatus == 1 and not (tmp_path / "out").exists() and not (tmp_path / "saved.yaml").exists()


def test_quitting_offers_to_save_the_answers_for_a_replay(tmp_path: Path) -> None:
    """Quit need not lose twenty answers: they can be kept and replayed with --answers."""
    child = spawn("--output", "out", cwd=tmp_path)
    for question, typed in _FIRST_ANSWERS:
        answer(child, question, ENTER if typed is None else CLEAR + typed + ENTER)
    answer(child, "Sidecars", ENTER)  # none
    answer(child, "Targets", ENTER)
    answer(child, "Health command", ENTER)
    answer(child, "Kubernetes version", ENTER)
    answer(child, "Kubernetes namespace", ENTER)
    answer(child, "Replicas", ENTER)
    answer(child, "Write these files?", DOWN + DOWN + ENTER)
    answer(child, "Save these answers to a file", ENTER)  # yes is the default
    answer(child, "Answers file", ENTER)  # <app name>-answers.yaml
    output = finish(child)
    assert child.exitstatus == 1 and "saved the answers to a-answers.yaml" in output
    assert not (tmp_path / "out").exists()
    assert run_cli("new", "--answers", str(tmp_path / "a-answers.yaml"), "--no-input",
                   "--output", str(tmp_path / "replayed")).exit_code == 0


def test_an_existing_output_folder_is_said_right_after_the_name(tmp_path: Path) -> None:
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "notes.txt").write_text("mine\n")
    child = spawn(cwd=tmp_path)
    answer(child, "App name", CLEAR + "svc" + ENTER)
    screen = wait_for(child, "App image")
    assert "svc/ exists and is not empty: writing needs --force" in screen
    child.send(CTRL_C)
    finish(child)


def test_the_summary_of_three_sidecars_fits_a_40_row_terminal_and_shows_the_picture_on_request(
        tmp_path: Path) -> None:
    write_answers(tmp_path / "full.yaml", FULL_ANSWERS)
    child = spawn("--answers", "full.yaml", "--output", "out", cwd=tmp_path)
    screen = wait_for(child, "Write these files?")
    shown = screen[screen.index("Summary"):].rstrip("\n").splitlines()
    assert len(shown) + 5 <= 40, screen  # with the question and its four choices
    assert "+- envoy " not in screen
    child.send(DOWN + DOWN + DOWN + ENTER)  # "Show the pod picture"
    picture = wait_for(child, "+- metrics ")  # the last container drawn
    assert "+- envoy " in picture and "+- orders-api " in picture and "+- fluentd " in picture
    answer(child, "Write these files?", ENTER)  # ... then the same question again
    finish(child)
    assert child.exitstatus == 0 and (tmp_path / "out" / "compose.yaml").is_file()


def test_a_dry_run_shows_the_summary_and_writes_nothing(tmp_path: Path) -> None:
    write_answers(tmp_path / "full.yaml", FULL_ANSWERS)
    child = spawn("--answers", "full.yaml", "--output", "out", "--dry-run", cwd=tmp_path)
    output = finish(child)
    assert child.exitstatus == 0 and "Summary" in output and "Write these files?" not in output
    assert "+- envoy " in output  # no question follows: the picture scrolls nothing away
    assert "nothing written" in output and not (tmp_path / "out").exists()


def test_answers_file_skips_the_questions_it_answers(tmp_path: Path) -> None:
    write_answers(tmp_path / "full.yaml", FULL_ANSWERS)
    child = spawn("--answers", "full.yaml", "--output", "out", cwd=tmp_path)
    assert "?" not in wait_for(child, "Summary")  # no question before the summary
    answer(child, "Write these files?", ENTER)
    finish(child)
    assert child.exitstatus == 0 and (tmp_path / "out" / "compose.yaml").is_file()


def test_a_port_conflict_in_the_answers_file_is_asked_again_with_the_reason(tmp_path: Path) -> None:
    answers = {**FULL_ANSWERS, "app": {**FULL_ANSWERS["app"], "port": 9901}}  # envoy's admin port
    write_answers(tmp_path / "clash.yaml", answers)
    child = spawn("--answers", "clash.yaml", "--output", "out", cwd=tmp_path)
    wait_for(child, "sidecars.envoy.params.admin_port: port 9901/TCP (envoy-admin) is already "
                       "taken by the app; pick another")
    answer(child, "envoy admin_port", CLEAR + "9902" + ENTER)  # an advanced one, asked because of it
    answer(child, "Write these files?", ENTER)
    finish(child)
    assert child.exitstatus == 0
    assert "9902" in (tmp_path / "out" / "k8s" / "deployment.yaml").read_text()


def test_ask_all_asks_every_question_with_the_answers_as_defaults(tmp_path: Path) -> None:
    write_answers(tmp_path / "full.yaml", FULL_ANSWERS)
    child = spawn("--answers", "full.yaml", "--ask-all", "--output", "out", cwd=tmp_path)
    answer(child, "App name", ENTER)
    for question in ("App image", "Port the app", "Health endpoint", "log files", "Metrics endpoint",
                     "Sidecars", "advanced parameters", "fluentd format", "fluentd forward_host",
                     "envoy listen_port", "Targets", "Health command", "Kubernetes version"):
        answer(child, question, ENTER)
    answer(child, "Kubernetes namespace", CLEAR + "shop" + ENTER)
    answer(child, "Replicas", ENTER)
    answer(child, "Write these files?", ENTER)
    finish(child)
    record = yaml.safe_load((tmp_path / "out" / ".sidecar-new.yaml").read_text())
    assert record["kubernetes"] == {"version": "1.31", "namespace": "shop", "create_namespace": False}
    assert record["app"] == FULL_ANSWERS["app"]
    assert [s if isinstance(s, str) else s["name"] for s in record["sidecars"]] == ["fluentd", "envoy", "metrics"]


def test_changing_one_question_at_the_summary_asks_only_it(tmp_path: Path) -> None:
    write_answers(tmp_path / "full.yaml", FULL_ANSWERS)
    child = spawn("--answers", "full.yaml", "--output", "out", cwd=tmp_path)
    answer(child, "Write these files?", DOWN + ENTER)  # "Change answers"
    answer(child, "What to change?", DOWN * 6 + ENTER)  # "One question..." after the six sections
    answer(child, "Which question?", DOWN * 2 + ENTER)  # app.name, app.image, app.port
    screen = wait_for(child, "Port the app")
    child.send(CLEAR + "9901" + ENTER)  # envoy's admin port: the clash is asked, nothing else
    wait_for(child, "sidecars.envoy.params.admin_port: port 9901/TCP (envoy-admin) is already taken by the app")
    answer(child, "envoy admin_port", CLEAR + "9902" + ENTER)
    screen = wait_for(child, "Write these files?")
    assert "?" not in screen.split("envoy admin_port")[-1].split("Summary")[0]  # no other question
    assert "port       9901" in screen  # back at the summary
    child.send(ENTER)
    output = finish(child)
    assert child.exitstatus == 0, output
    record = yaml.safe_load((tmp_path / "out" / ".sidecar-new.yaml").read_text())
    assert record["app"] == {**FULL_ANSWERS["app"], "port": 9901}
    assert record["kubernetes"]["namespace"] == "orders"


def test_changing_a_section_at_the_summary_keeps_the_other_answers(tmp_path: Path) -> None:
    write_answers(tmp_path / "full.yaml", FULL_ANSWERS)
    child = spawn("--answers", "full.yaml", "--output", "out", cwd=tmp_path)
    answer(child, "Write these files?", DOWN + ENTER)
    answer(child, "What to change?", DOWN * 4 + ENTER)  # "Kubernetes: version, namespace, replicas"
    answer(child, "Kubernetes version", ENTER)
    answer(child, "Kubernetes namespace", CLEAR + "shop" + ENTER)
    answer(child, "Replicas", CLEAR + "3" + ENTER)
    screen = wait_for(child, "Write these files?")
    assert "App name" not in screen and "Sidecars" not in screen.split("Summary")[0]
    assert "namespace  shop" in screen
    child.send(ENTER)
    finish(child)
    record = yaml.safe_load((tmp_path / "out" / ".sidecar-new.yaml").read_text())
    assert record["kubernetes"]["namespace"] == "shop" and record["app"]["replicas"] == 3
    assert record["app"]["port"] == 8080 and len(record["sidecars"]) == 3


def test_changing_every_question_at_the_summary_goes_round_again(tmp_path: Path) -> None:
    write_answers(tmp_path / "full.yaml", FULL_ANSWERS)
    child = spawn("--answers", "full.yaml", "--output", "out", cwd=tmp_path)
    answer(child, "Write these files?", DOWN + ENTER)  # "Change answers"
    answer(child, "What to change?", DOWN * 7 + ENTER)  # "Every question"
    answer(child, "App name", ENTER)
    answer(child, "App image", ENTER)
    answer(child, "Port the app", CLEAR + "8081" + ENTER)
    for question in ("Health endpoint", "log files", "Metrics endpoint", "Sidecars", "advanced parameters",
                     "fluentd format", "fluentd forward_host", "envoy listen_port", "Targets",
                     "Health command", "Kubernetes version", "Kubernetes namespace", "Replicas",
                     "Write these files?"):
        answer(child, question, ENTER)
    finish(child)
    assert child.exitstatus == 0
    assert yaml.safe_load((tmp_path / "out" / ".sidecar-new.yaml").read_text())["app"]["port"] == 8081


def test_the_advanced_settings_are_asked_only_when_picked_at_the_summary(tmp_path: Path) -> None:
    write_answers(tmp_path / "full.yaml", FULL_ANSWERS)
    child = spawn("--answers", "full.yaml", "--output", "out", cwd=tmp_path)
    assert "Environment" not in wait_for(child, "Write these files?")  # not asked by default
    child.send(DOWN + ENTER)  # "Change answers"
    answer(child, "What to change?", DOWN * 5 + ENTER)  # "Advanced: environment and secrets, ..."
    answer(child, "Environment", "LOG_LEVEL=info DB_PASSWORD=hunter2" + ENTER)
    wait_for(child, "app.env.DB_PASSWORD: looks like a secret")  # the answers file's words
    child.send(CLEAR + "LOG_LEVEL=info DB_PASSWORD=secret:orders-db/password" + ENTER)
    answer(child, "every key becomes a variable", "secret:orders-env" + ENTER)
    answer(child, "App CPU request", CLEAR + "250m" + ENTER)
    answer(child, "App CPU limit", CLEAR + "1" + ENTER)
    answer(child, "App memory request", ENTER)
    answer(child, "App memory limit", CLEAR + "1Gi" + ENTER)
    answer(child, "App user", CLEAR + "100:100" + ENTER)
    wait_for(child, "app.user.uid: 100 is below 10000")
    child.send(CLEAR + "20001" + ENTER)
    answer(child, "Folders the app writes", "/var/cache/app /data=256Mi" + ENTER)
    answer(child, "App command", "/app/server" + ENTER)
    answer(child, "App arguments", "--port 8080" + ENTER)
    answer(child, "Image pull secrets", "regcred" + ENTER)
    screen = wait_for(child, "Write these files?")
    assert "advanced" in screen
    child.send(ENTER)
    output = finish(child)
    assert child.exitstatus == 0, output
    app = yaml.safe_load((tmp_path / "out" / ".sidecar-new.yaml").read_text())["app"]
    assert app["env"] == {"LOG_LEVEL": "info", "DB_PASSWORD": {"secret": "orders-db/password"}}
    assert app["env_from"] == [{"secret": "orders-env"}]
    assert app["resources"] == {"requests": {"cpu": "250m"}, "limits": {"cpu": "1", "memory": "1Gi"}}
    assert app["user"] == {"uid": 20001, "gid": 20001}
    assert app["writable_paths"] == ["/var/cache/app", {"path": "/data", "size": "256Mi"}]
    assert app["command"] == ["/app/server"] and app["args"] == ["--port", "8080"]


def test_replicas_and_the_health_command_are_asked_and_checked(tmp_path: Path) -> None:
    child = spawn("--name", "web", "--image", "team/web:1.0", "--output", "out", cwd=tmp_path)
    for question in ("Port the app", "Health endpoint", "log files", "Metrics endpoint", "Sidecars", "Targets"):
        answer(child, question, ENTER)
    answer(child, "Health command", "wget -q 'http://127.0.0.1:8080/healthz" + ENTER)
    wait_for(child, "No closing quotation")  # refused under the prompt, asked again
    child.send(CLEAR + "wget -q --spider 'http://127.0.0.1:8080/healthz'" + ENTER)
    answer(child, "Kubernetes version", ENTER)
    answer(child, "Kubernetes namespace", ENTER)
    answer(child, "Replicas", CLEAR + "0" + ENTER)
    wait_for(child, "app.replicas: 0 is not a replica count")
    child.send(CLEAR + "3" + ENTER)
    answer(child, "Write these files?", ENTER)
    output = finish(child)
    assert child.exitstatus == 0, output
    record = yaml.safe_load((tmp_path / "out" / ".sidecar-new.yaml").read_text())
    assert record["app"]["replicas"] == 3
    assert record["app"]["health_command"] == ["wget", "-q", "--spider", "http://127.0.0.1:8080/healthz"]
    compose = yaml.safe_load((tmp_path / "out" / "compose.yaml").read_text())
    assert compose["services"]["web"]["healthcheck"]["test"][1:] == record["app"]["health_command"]
    assert "replicas: 3" in (tmp_path / "out" / "k8s" / "deployment.yaml").read_text()


def test_a_replica_count_the_answers_file_breaks_is_asked_again(tmp_path: Path) -> None:
    write_answers(tmp_path / "a.yaml", {**FULL_ANSWERS, "app": {**FULL_ANSWERS["app"], "replicas": -1}})
    child = spawn("--answers", "a.yaml", "--output", "out", cwd=tmp_path)
    wait_for(child, "app.replicas: -1 is not a replica count")
    answer(child, "Replicas", CLEAR + "4" + ENTER)
    answer(child, "Write these files?", ENTER)
    finish(child)
    assert yaml.safe_load((tmp_path / "out" / ".sidecar-new.yaml").read_text())["app"]["replicas"] == 4


def test_the_checklist_groups_the_sidecars_by_capability_each_explained_in_one_line(tmp_path: Path) -> None:
    from generator.catalog.capabilities import describe

    templates = load_catalog().templates
    child = spawn("--name", "web", "--image", "team/web:1.0", "--output", "out", cwd=tmp_path)
    for question in ("Port the app", "Health endpoint", "log files", "Metrics endpoint"):
        answer(child, question, ENTER)
    wait_for(child, "Sidecars")
    for capability in dict.fromkeys(t.capability for t in templates):  # in this order on screen
        wait_for(child, f"-- {capability}: {describe(capability)[:30]}")  # clipped to the terminal
        for template in (t for t in templates if t.capability == capability):
            wait_for(child, template.name)
    child.send(CTRL_C)
    finish(child)
    assert child.exitstatus == 130


def test_a_sidecar_that_needs_a_log_folder_asks_for_it(tmp_path: Path) -> None:
    child = spawn("--name", "web", "--image", "team/web:1.0", "--target", "compose", "--output", "out",
                  cwd=tmp_path)
    answer(child, "Port the app", ENTER)
    answer(child, "Health endpoint", ENTER)
    answer(child, "log files", ENTER)  # none ...
    answer(child, "Metrics endpoint", ENTER)
    answer(child, "Sidecars", checklist_keys(["fluentd"]) + ENTER)  # ... but fluentd tails log files
    answer(child, "(needed by fluentd)", ENTER)  # default /var/log/app
    answer(child, "advanced parameters", ENTER)
    answer(child, "fluentd format", DOWN + ENTER)  # json
    answer(child, "fluentd forward_host", ENTER)
    answer(child, "Health command", ENTER)  # compose only: no Kubernetes questions, no replicas
    answer(child, "Write these files?", ENTER)
    finish(child)
    record = yaml.safe_load((tmp_path / "out" / ".sidecar-new.yaml").read_text())
    assert record["app"]["log_dir"] == "/var/log/app" and record["targets"] == ["compose"]
    assert record["sidecars"][0]["params"]["format"] == "json"


def test_two_sidecars_in_conflict_are_refused_while_choosing(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog"
    shutil.copytree(builtin_root() / "templates", catalog / "templates")
    index = yaml.safe_load((builtin_root() / "catalog.yaml").read_text())
    next(t for t in index["templates"] if t["name"] == "metrics")["conflicts"] = ["envoy"]
    (catalog / "catalog.yaml").write_text(yaml.safe_dump(index, sort_keys=False))
    write_answers(tmp_path / "app.yaml", {"app": {k: v for k, v in FULL_ANSWERS["app"].items()},
                                          "targets": ["compose"]})
    child = spawn("--answers", "app.yaml", "--catalog", str(catalog), "--output", "out", cwd=tmp_path)
    answer(child, "Sidecars", checklist_keys(["envoy", "metrics"], catalog) + ENTER)
    wait_for(child, "sidecars: 'metrics' cannot go with 'envoy'")
    child.send(SPACE + ENTER)  # drop metrics (the cursor is on it), keep envoy
    answer(child, "advanced parameters", ENTER)
    answer(child, "envoy listen_port", ENTER)
    answer(child, "Write these files?", ENTER)
    finish(child)
    record = yaml.safe_load((tmp_path / "out" / ".sidecar-new.yaml").read_text())
    assert [s["name"] for s in record["sidecars"]] == ["envoy"]


def test_a_pipe_on_stdin_never_prompts(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "generator", "new", "--output", str(tmp_path / "out")],
                          input="orders-api\n", capture_output=True, text=True, timeout=30)
    assert done.returncode == 1 and "pass --answers FILE" in done.stderr
    assert not (tmp_path / "out").exists()


def test_save_answers_replays_without_the_wizard(tmp_path: Path) -> None:
    write_answers(tmp_path / "full.yaml", FULL_ANSWERS)
    result = run_cli("new", "--answers", str(tmp_path / "full.yaml"), "--no-input", "--dry-run",
                     "--save-answers", str(tmp_path / "saved.yaml"))
    assert result.exit_code == 0 and "saved the answers to" in result.output
    assert yaml.safe_load((tmp_path / "saved.yaml").read_text()) == FULL_ANSWERS
    refused = run_cli("new", "--answers", str(tmp_path / "full.yaml"), "--no-input",
                      "--save-answers", str(tmp_path), "--output", str(tmp_path / "out"))
    assert refused.exit_code == 1 and "--save-answers" in refused.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("case", ["all-sidecars-1.31", "classic-sidecars-1.28", "no-sidecars-defaults"])
def test_summary_before_writing_matches_golden(case: str, builtin_catalog, update_golden: bool,
                                               tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from generator.wizard.summary import summary

    monkeypatch.chdir(tmp_path)  # the summary notes an output folder that already exists
    answers = yaml.safe_load((GOLDEN / case / "answers.yaml").read_text())
    text = summary(answers, builtin_catalog, False, Path(answers["app"]["name"]))
    expected = GOLDEN / "wizard-summary" / f"{case}.txt"
    if update_golden:
        expected.parent.mkdir(exist_ok=True)
        expected.write_text(text)
    assert text == expected.read_text()


def test_a_rule_only_the_whole_request_checks_is_shown_with_change_or_quit(tmp_path: Path) -> None:
    answers = copy.deepcopy(FULL_ANSWERS)
    answers["app"]["name"] = "envoy"  # also a chosen sidecar's name: no single question sees it
    write_answers(tmp_path / "a.yaml", answers)
    child = spawn("--answers", "a.yaml", "--output", "out", cwd=tmp_path)
    wait_for(child, "these answers cannot be rendered: app.name: 'envoy' is also the name of a chosen sidecar")
    answer(child, "What now?", DOWN + ENTER)  # Quit
    output = finish(child)
    assert child.exitstatus == 1 and "error: app.name: 'envoy'" in output
    assert not (tmp_path / "out").exists()


def test_replaying_a_record_in_the_wizard_shows_the_folder_it_writes(tmp_path: Path) -> None:
    write_answers(tmp_path / "full.yaml", FULL_ANSWERS)
    assert run_cli("new", "--answers", str(tmp_path / "full.yaml"), "--no-input",
                   "--output", str(tmp_path / "deploy" / "svc")).exit_code == 0
    child = spawn("--answers", "deploy/svc/.sidecar-new.yaml", "--force", cwd=tmp_path)
    screen = wait_for(child, "Write these files?")
    assert "output     deploy/svc/" in screen
    wait_for(child, "Write them to deploy/svc/")
    child.send(ENTER)
    finish(child)
    assert child.exitstatus == 0 and not (tmp_path / "orders-api").exists()


def test_a_record_without_optional_answers_replays_a_diff_without_questions(tmp_path: Path) -> None:
    """The README's example: a folder rendered without a log folder or metrics path, replayed
    with --diff in a terminal: no question, no "exists" note, and the last line ends."""
    assert run_cli("new", "--no-input", "--name", "pay", "--image", "team/pay:1.0", "--with", "envoy",
                   "--output", str(tmp_path / "pay")).exit_code == 0
    child = spawn("--answers", "pay/.sidecar-new.yaml", "--diff", cwd=tmp_path)
    output = finish(child)
    assert child.exitstatus == 0, output
    assert "?" not in output.replace("\n?", ""), output  # questionary's prompts start with '?'
    assert "log files" not in output and "Metrics endpoint" not in output
    assert "exists" not in output
    assert output.endswith("pay: no changes\n"), output[-200:]


def test_with_stdout_redirected_there_is_no_invisible_wizard(tmp_path: Path) -> None:
    child = pexpect.spawn("/bin/sh", ["-c", f"{sys.executable} -m generator new > out.log 2> err.log"],
                          cwd=str(tmp_path), timeout=15)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1
    assert "pass --answers FILE" in (tmp_path / "err.log").read_text()


def test_save_answers_into_a_file_path_is_refused_before_any_question(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    child = spawn("--save-answers", "afile/x.yaml", "--output", "out", cwd=tmp_path)
    output = finish(child)
    assert child.exitstatus == 1 and "--save-answers: cannot write afile/x.yaml" in output
    assert "App name" not in output and not (tmp_path / "out").exists()


def test_an_existing_folder_is_not_offered_for_writing_without_force(tmp_path: Path) -> None:
    write_answers(tmp_path / "full.yaml", FULL_ANSWERS)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine\n")
    child = spawn("--answers", "full.yaml", "--output", "out", cwd=tmp_path)
    screen = wait_for(child, "run again with --force")
    assert "out/ exists and is not empty" in screen  # said before the summary, too
    child.send(DOWN + ENTER)  # the cursor starts on "Change answers"; down is Quit
    answer(child, "Save these answers to a file", "n")
    output = finish(child)
    assert child.exitstatus == 1 and "quit at the summary" in output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["notes.txt"]
