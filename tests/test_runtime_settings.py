"""The app's run-time settings: resources, user, writable paths, command/args and image pull
secrets reach both targets, the record keeps what differs from the defaults, and the output
still passes the real validators."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

from conftest import FULL_ANSWERS, run_cli, write_answers
from generator.input.spec import parse_spec
from generator.pipeline import build
from generator.tools.check import check_folder

SETTINGS = {"resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
            "user": {"uid": 20001, "gid": 20002},
            "writable_paths": ["/var/cache/app", {"path": "/data/work", "size": "256Mi"}],
            "command": ["/app/server"], "args": ["--greeting", "$HOME"]}


def answers_with(**app: object) -> dict:
    answers = copy.deepcopy(FULL_ANSWERS)
    answers["app"].update(app)
    answers["kubernetes"]["image_pull_secrets"] = ["regcred"]
    return answers


def rendered(catalog, answers: dict) -> dict[str, bytes]:
    return dict(build(parse_spec(answers, catalog), catalog))


def pod_spec(files: dict[str, bytes]) -> dict:
    return yaml.safe_load(files["k8s/deployment.yaml"])["spec"]["template"]["spec"]


def test_resources_replace_the_defaults_key_by_key_in_both_targets(builtin_catalog) -> None:
    files = rendered(builtin_catalog, answers_with(**SETTINGS))
    app = pod_spec(files)["containers"][0]
    assert app["resources"]["requests"] == {"cpu": "250m", "memory": "256Mi", "ephemeral-storage": "64Mi"}
    # ephemeral-storage: the default 256Mi plus the emptyDirs the app writes (tmp, logs, 2 paths).
    assert app["resources"]["limits"] == {"cpu": "1", "memory": "1Gi", "ephemeral-storage": "896Mi"}
    service = yaml.safe_load(files["compose.yaml"])["services"]["orders-api"]
    # Compose: the tmpfs volumes it writes are charged to its memory (1Gi + 64 + 256 + 64 + 256 Mi).
    assert service["deploy"]["resources"] == {"limits": {"cpus": "1", "memory": "1664m"},
                                              "reservations": {"memory": "256m"}}


def test_without_resources_the_app_keeps_todays_values(builtin_catalog) -> None:
    app = pod_spec(rendered(builtin_catalog, copy.deepcopy(FULL_ANSWERS)))["containers"][0]
    assert app["resources"]["requests"] == {"cpu": "100m", "memory": "128Mi", "ephemeral-storage": "64Mi"}
    assert app["resources"]["limits"]["cpu"] == "500m" and app["resources"]["limits"]["memory"] == "512Mi"


def test_the_user_runs_the_app_and_its_group_is_shared_by_every_container(builtin_catalog) -> None:
    files = rendered(builtin_catalog, answers_with(**SETTINGS))
    spec = pod_spec(files)
    assert spec["securityContext"]["runAsUser"] == 20001
    assert spec["securityContext"]["runAsGroup"] == spec["securityContext"]["fsGroup"] == 20002
    containers = spec["containers"] + spec.get("initContainers", [])
    assert {c["securityContext"]["runAsGroup"] for c in containers} == {20002}
    assert spec["containers"][0]["securityContext"]["runAsUser"] == 20001
    compose = yaml.safe_load(files["compose.yaml"])
    assert compose["services"]["orders-api"]["user"] == "20001:20002"
    assert compose["services"]["fluentd"]["user"].endswith(":20002")
    assert compose["services"]["netns"]["user"] == "65535:65535"  # shares no volume
    assert all("uid=20001,gid=20002,mode=0770" in v["driver_opts"]["o"] for v in compose["volumes"].values())


def test_writable_paths_get_sized_scratch_volumes_and_the_root_stays_read_only(builtin_catalog) -> None:
    files = rendered(builtin_catalog, answers_with(**SETTINGS))
    spec = pod_spec(files)
    app = spec["containers"][0]
    mounts = {m["mountPath"]: m["name"] for m in app["volumeMounts"]}
    assert mounts["/var/cache/app"] == "scratch-var-cache-app" and mounts["/data/work"] == "scratch-data-work"
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["scratch-var-cache-app"]["emptyDir"] == {"sizeLimit": "64Mi"}
    assert volumes["scratch-data-work"]["emptyDir"] == {"sizeLimit": "256Mi"}
    assert app["securityContext"]["readOnlyRootFilesystem"] is True
    service = yaml.safe_load(files["compose.yaml"])["services"]["orders-api"]
    assert {"type": "volume", "source": "scratch-data-work", "target": "/data/work"} in service["volumes"]
    assert service["read_only"] is True


def test_command_and_args_reach_both_targets_literally(builtin_catalog) -> None:
    files = rendered(builtin_catalog, answers_with(**SETTINGS))
    app = pod_spec(files)["containers"][0]
    assert app["command"] == ["/app/server"] and app["args"] == ["--greeting", "$$HOME"]
    service = yaml.safe_load(files["compose.yaml"])["services"]["orders-api"]
    assert service["entrypoint"] == ["/app/server"] and service["command"] == ["--greeting", "$$HOME"]


def test_image_pull_secrets_reach_the_pod(builtin_catalog) -> None:
    assert pod_spec(rendered(builtin_catalog, answers_with()))["imagePullSecrets"] == [{"name": "regcred"}]
    assert "imagePullSecrets" not in pod_spec(rendered(builtin_catalog, copy.deepcopy(FULL_ANSWERS)))


def test_the_record_keeps_what_differs_from_the_defaults_and_replays(builtin_catalog) -> None:
    files = rendered(builtin_catalog, answers_with(**SETTINGS))
    record = yaml.safe_load(files[".sidecar-new.yaml"])
    assert record["app"]["resources"] == SETTINGS["resources"]
    assert record["app"]["user"] == SETTINGS["user"]
    assert record["app"]["writable_paths"] == SETTINGS["writable_paths"]
    assert record["kubernetes"]["image_pull_secrets"] == ["regcred"]
    replayed = {k: v for k, v in record.items() if k not in ("generated_by", "files")}
    assert rendered(builtin_catalog, replayed) == files
    plain = yaml.safe_load(rendered(builtin_catalog, copy.deepcopy(FULL_ANSWERS))[".sidecar-new.yaml"])
    assert not {"resources", "user", "writable_paths", "command", "args"} & set(plain["app"])


def test_a_gid_defaults_to_the_uid(builtin_catalog) -> None:
    spec = pod_spec(rendered(builtin_catalog, answers_with(user={"uid": 30000})))
    assert spec["securityContext"]["runAsGroup"] == 30000


def test_the_settings_pass_the_real_validators(builtin_catalog, tmp_path: Path) -> None:
    for version in ("1.28", "1.31"):
        answers = answers_with(**SETTINGS)
        answers["kubernetes"]["version"] = version
        for path, data in rendered(builtin_catalog, answers).items():
            (tmp_path / version / path).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / version / path).write_bytes(data)
        assert check_folder(tmp_path / version) == []


def test_the_settings_work_through_set(tmp_path: Path) -> None:
    answers = write_answers(tmp_path / "a.yaml", copy.deepcopy(FULL_ANSWERS))
    result = run_cli("new", "--answers", str(answers), "--no-input", "-o", str(tmp_path / "out"),
                     "--set", "app.user={uid: 20001}", "--set", "app.resources.limits.memory=1Gi",
                     "--set", "app.env.DB_PASSWORD={secret: orders-db/password}",
                     "--set", "kubernetes.image_pull_secrets=[regcred]")
    assert result.exit_code == 0, result.output
    record = yaml.safe_load((tmp_path / "out" / ".sidecar-new.yaml").read_text())
    assert record["app"]["user"] == {"uid": 20001, "gid": 20001}
    assert record["app"]["resources"] == {"limits": {"memory": "1Gi"}}
    assert record["app"]["env"] == {"DB_PASSWORD": {"secret": "orders-db/password"}}
    assert record["kubernetes"]["image_pull_secrets"] == ["regcred"]
