"""The app's environment: plain values, references to Secret and ConfigMap keys, whole
Secrets/ConfigMaps (env_from). References stay references in every target, so no secret
value is ever written into the output folder or the record."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from conftest import FULL_ANSWERS, run_cli, tree_of, write_answers
from generator.input.spec import parse_spec
from generator.pipeline import build
from generator.tools.check import check_folder

ENV = {"LOG_LEVEL": "info", "PRICE": "costs $5 $(HOME)", "RETRIES": 3,
       "DB_PASSWORD": {"secret": "orders-db/password"}, "FLAGS": {"config_map": "orders-config/flags"}}
ENV_FROM = [{"secret": "orders-env"}, {"config_map": "orders-settings"}]
SENTINEL = "s3cr3t-value-that-must-never-be-written"


def answers_with_env(**app: object) -> dict:
    answers = copy.deepcopy(FULL_ANSWERS)
    answers["app"].update({"env": ENV, "env_from": ENV_FROM, **app})
    return answers


def rendered(builtin_catalog, answers: dict) -> dict[str, bytes]:
    return dict(build(parse_spec(answers, builtin_catalog), builtin_catalog))


def app_container(files: dict[str, bytes]) -> dict:
    deployment = yaml.safe_load(files["k8s/deployment.yaml"])
    return deployment["spec"]["template"]["spec"]["containers"][0]


def test_kubernetes_gets_value_from_secret_and_config_map_keys_and_env_from(builtin_catalog) -> None:
    app = app_container(rendered(builtin_catalog, answers_with_env()))
    env = {e["name"]: e for e in app["env"]}
    assert env["LOG_LEVEL"] == {"name": "LOG_LEVEL", "value": "info"}
    assert env["RETRIES"] == {"name": "RETRIES", "value": "3"}
    assert env["DB_PASSWORD"]["valueFrom"] == {"secretKeyRef": {"name": "orders-db", "key": "password"}}
    assert env["FLAGS"]["valueFrom"] == {"configMapKeyRef": {"name": "orders-config", "key": "flags"}}
    assert app["envFrom"] == [{"secretRef": {"name": "orders-env"}}, {"configMapRef": {"name": "orders-settings"}}]
    # The answers' order first, then what sidecars set on the app (the metrics sidecar's StatsD).
    assert [e["name"] for e in app["env"]][:5] == list(ENV)
    assert "STATSD_HOST" in env


def test_a_dollar_in_a_plain_value_stays_literal_in_both_targets(builtin_catalog) -> None:
    files = rendered(builtin_catalog, answers_with_env())
    # kubelet expands $(VAR) and reduces $$ to $; Compose substitutes $VAR and reduces $$ to $.
    env = {e["name"]: e for e in app_container(files)["env"]}
    assert env["PRICE"]["value"] == "costs $$5 $$(HOME)"
    compose = yaml.safe_load(files["compose.yaml"])
    assert compose["services"]["orders-api"]["environment"]["PRICE"] == "costs $$5 $$(HOME)"


def test_compose_reads_referenced_values_from_an_env_file_the_user_keeps(builtin_catalog) -> None:
    files = rendered(builtin_catalog, answers_with_env())
    service = yaml.safe_load(files["compose.yaml"])["services"]["orders-api"]
    assert service["environment"]["LOG_LEVEL"] == "info"
    assert not {"DB_PASSWORD", "FLAGS"} & set(service["environment"])
    assert service["env_file"] == [{"path": "env/orders-api.env", "required": False}]
    assert "env/orders-api.env" not in files  # the user writes it, never sidecar-new
    assert files["env/.gitignore"].decode().splitlines()[-2:] == ["*", "!.gitignore"]
    readme = files["README.md"].decode()
    assert "- `DB_PASSWORD`: key `password` of Secret `orders-db`" in readme
    assert "every key of ConfigMap `orders-settings`" in readme and "`env/orders-api.env`" in readme


def test_without_references_there_is_no_env_file_and_no_secrets_section(builtin_catalog) -> None:
    files = rendered(builtin_catalog, answers_with_env(env={"LOG_LEVEL": "info"}, env_from=[]))
    assert "env_file" not in yaml.safe_load(files["compose.yaml"])["services"]["orders-api"]
    assert "env/.gitignore" not in files and "## Secrets" not in files["README.md"].decode()


def test_the_record_keeps_the_references_and_replays_to_the_same_files(builtin_catalog, tmp_path: Path) -> None:
    files = rendered(builtin_catalog, answers_with_env())
    record = yaml.safe_load(files[".sidecar-new.yaml"])
    assert record["app"]["env"]["DB_PASSWORD"] == {"secret": "orders-db/password"}
    assert record["app"]["env"]["RETRIES"] == "3"
    assert record["app"]["env_from"] == ENV_FROM
    replayed = {k: v for k, v in record.items() if k not in ("generated_by", "files")}
    assert rendered(builtin_catalog, replayed) == files


def test_no_secret_value_reaches_the_output_or_the_record(tmp_path: Path, monkeypatch) -> None:
    """Only references are given; the value exists where a user keeps it (the env file Compose
    reads, the shell's environment). Rendering again with it there writes it nowhere."""
    answers = write_answers(tmp_path / "answers.yaml", answers_with_env())
    output = tmp_path / "out"
    monkeypatch.setenv("DB_PASSWORD", SENTINEL)
    assert run_cli("new", "--answers", str(answers), "--no-input", "-o", str(output)).exit_code == 0
    (output / "env" / "orders-api.env").write_text(f"DB_PASSWORD={SENTINEL}\nFLAGS=a,b\n")
    result = run_cli("new", "--answers", str(answers), "--no-input", "-o", str(output), "--force")
    assert result.exit_code == 0, result.output
    written = {path: data for path, data in tree_of(output).items() if path != "env/orders-api.env"}
    assert ".sidecar-new.yaml" in written and "compose.yaml" in written and "k8s/deployment.yaml" in written
    assert [path for path, data in written.items() if SENTINEL.encode() in data] == []
    assert (output / "env" / "orders-api.env").read_text().startswith(f"DB_PASSWORD={SENTINEL}")  # left alone
    assert check_folder(output) == []  # docker-compose config reads the env file too


def test_a_literal_secret_where_a_reference_belongs_is_refused(tmp_path: Path) -> None:
    answers = write_answers(tmp_path / "answers.yaml", answers_with_env(env={"ORDERS_API_TOKEN": SENTINEL}))
    result = run_cli("new", "--answers", str(answers), "--no-input", "-o", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert result.output.strip() == ("error: app.env.ORDERS_API_TOKEN: looks like a secret: give a reference, "
                                     "{secret: NAME/KEY}, so its value stays out of the answers, the record "
                                     "and the output")
    assert SENTINEL not in result.output and not (tmp_path / "out").exists()


@pytest.mark.parametrize("name", ["DB_PASSWORD", "github_token", "API_KEY", "STRIPE_APIKEY", "TLS_PRIVATE_KEY",
                                  "CLIENT_SECRET", "PASSWD"])
def test_secret_like_names_take_only_references(name: str, builtin_catalog) -> None:
    from generator.errors import SpecError

    with pytest.raises(SpecError, match=f"app.env.{name}: looks like a secret"):
        parse_spec(answers_with_env(env={name: "x"}), builtin_catalog)
    parse_spec(answers_with_env(env={name: {"secret": "creds/value"}}), builtin_catalog)
    parse_spec(answers_with_env(env={name: ""}), builtin_catalog)  # empty: nothing to leak


def test_env_output_passes_the_real_validators(builtin_catalog, tmp_path: Path) -> None:
    for path, data in rendered(builtin_catalog, answers_with_env()).items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(data)
    assert check_folder(tmp_path) == []
