"""The sidecars' overhead: their requests and limits summed per resource against the app's and
the pod's, compared with hand-computed sums; the budget (50% of the app's requests by default,
a catalog's own from catalog.yaml) warns in `new`, fails with --strict, and `check` reports it."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from catalog_fixtures import team_catalog
from conftest import FULL_ANSWERS, run_cli, write_answers
from generator.catalog.loader import load_catalog
from generator.input.spec import parse_spec
from generator.model import overhead
from generator.model.pod import build_pod

Mi, Gi = 2**20, 2**30


def uses(catalog, sidecars: list, **app: object) -> dict[str, overhead.Use]:
    answers = copy.deepcopy(FULL_ANSWERS)
    answers["sidecars"] = sidecars
    answers["app"].update(app)
    return {u.resource: u for u in overhead.of_pod(build_pod(parse_spec(answers, catalog), catalog))}


def figures(use: overhead.Use) -> tuple[float, ...]:
    return (use.app_request, use.app_limit, use.sidecars_request, use.sidecars_limit, use.pod_request, use.pod_limit)


# By hand from templates/*/sidecar.yaml: fluentd 50m/500m, 128Mi/256Mi, 16Mi/64Mi; envoy 50m/500m,
# 64Mi/256Mi, 16Mi/64Mi; metrics 20m/200m, 32Mi/128Mi, 8Mi/32Mi. Ephemeral-storage limits also
# hold the emptyDirs each container writes first: the app tmp 64Mi + logs 256Mi; fluentd
# pos 16Mi + buffer 256Mi + tmp 16Mi. The app: 100m/500m, 128Mi/512Mi, 64Mi/256Mi.
@pytest.mark.parametrize("sidecars,cpu,memory,storage", [
    (["fluentd", "envoy", "metrics"],
     (0.1, 0.5, 0.12, 1.2, 0.22, 1.7),
     (128 * Mi, 512 * Mi, 224 * Mi, 640 * Mi, 352 * Mi, 1152 * Mi),
     (64 * Mi, 576 * Mi, 40 * Mi, (64 + 288 + 64 + 32) * Mi, 104 * Mi, (576 + 448) * Mi)),
    (["envoy"],
     (0.1, 0.5, 0.05, 0.5, 0.15, 1.0),
     (128 * Mi, 512 * Mi, 64 * Mi, 256 * Mi, 192 * Mi, 768 * Mi),
     (64 * Mi, 320 * Mi, 16 * Mi, 64 * Mi, 80 * Mi, 384 * Mi)),
    (["metrics", "envoy"],
     (0.1, 0.5, 0.07, 0.7, 0.17, 1.2),
     (128 * Mi, 512 * Mi, 96 * Mi, 384 * Mi, 224 * Mi, 896 * Mi),
     (64 * Mi, 320 * Mi, 24 * Mi, 96 * Mi, 88 * Mi, 416 * Mi)),
], ids=["all three", "envoy", "metrics and envoy"])
def test_the_builtin_sidecars_add_up_as_computed_by_hand(sidecars, cpu, memory, storage, builtin_catalog) -> None:
    found = uses(builtin_catalog, sidecars, **({} if "fluentd" in sidecars else {"log_dir": None}))
    for resource, expected in (("cpu", cpu), ("memory", memory), ("ephemeral-storage", storage)):
        assert figures(found[resource]) == pytest.approx(expected), resource


def test_the_budget_is_half_the_apps_requests_by_default(builtin_catalog) -> None:
    found = uses(builtin_catalog, ["envoy"], log_dir=None)
    # envoy: 50m of the app's 100m is 50%: at the budget, not over; 64Mi of 128Mi likewise; 16 of 64Mi: 25%.
    assert [(u.percent, u.budget, u.over) for u in found.values()] == [(50.0, 50, False), (50.0, 50, False),
                                                                         (25.0, 50, False)]
    more = uses(builtin_catalog, ["envoy", "metrics"], log_dir=None)
    assert more["cpu"].percent == pytest.approx(70) and more["cpu"].over


# A team template written in the units people use: 0.5 CPU, 1500m, 1Gi, 512M (decimal: 512e6 bytes).
ODD_UNITS = """\
    run_as: 10001
    ports:
      - {name: pinger, port: 9400}
    probes:
      readiness: {port: 9400, path: /ready}
      liveness: {port: 9400, path: /healthz}
    resources:
      requests: {cpu: "0.5", memory: 512M, ephemeral-storage: 1Gi}
      limits: {cpu: 1500m, memory: 1Gi, ephemeral-storage: 2Gi}
    """


def odd_catalog(root: Path, budget: str = "") -> Path:
    return team_catalog(root, **{"templates/pinger/sidecar.yaml": ODD_UNITS,
                                 "templates/pinger/files/pinger.yaml.j2": None,
                                 "catalog.yaml": TEAM_INDEX + budget})


TEAM_INDEX = """\
    name: team
    version: "2.1.0"
    templates:
      - name: pinger
        capability: health
        summary: Answers pings next to the app
        image: registry.example.com/platform/pinger:1.2.3
        path: templates/pinger
    """


def test_a_team_template_in_unusual_units_adds_up(tmp_path: Path) -> None:
    catalog = load_catalog(odd_catalog(tmp_path / "catalog"))
    found = uses(catalog, ["pinger"], log_dir=None, metrics_path=None,
                 resources={"requests": {"cpu": "250m", "memory": "1Gi", "ephemeral-storage": "512M"},
                            "limits": {"cpu": "1", "memory": "2Gi", "ephemeral-storage": "1Gi"}})
    assert figures(found["cpu"]) == pytest.approx((0.25, 1.0, 0.5, 1.5, 0.75, 2.5))
    assert figures(found["memory"]) == pytest.approx((1 * Gi, 2 * Gi, 512e6, 1 * Gi, Gi + 512e6, 3 * Gi))
    # The app's ephemeral-storage limit also holds its /tmp emptyDir (64Mi).
    assert figures(found["ephemeral-storage"]) == pytest.approx(
        (512e6, Gi + 64 * Mi, 1 * Gi, 2 * Gi, 512e6 + Gi, 3 * Gi + 64 * Mi))
    assert found["cpu"].percent == pytest.approx(200) and found["cpu"].over
    assert found["memory"].percent == pytest.approx(100 * 512e6 / Gi)  # 47.7%: within 50%
    assert not found["memory"].over
    assert found["ephemeral-storage"].percent == pytest.approx(100 * Gi / 512e6)


def test_the_team_template_renders_and_passes_check(tmp_path: Path) -> None:
    answers = write_answers(tmp_path / "a.yaml", {"app": {"name": "shop", "image": "registry.example.com/shop:1.0.0"},
                                                  "sidecars": ["pinger"]})
    result = run_cli("new", "--catalog", str(odd_catalog(tmp_path / "catalog")), "--answers", str(answers),
                     "--no-input", "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    compose = yaml.safe_load((tmp_path / "out" / "compose.yaml").read_text())
    assert compose["services"]["pinger"]["deploy"]["resources"]["reservations"]["memory"] == "512000000"
    from generator.tools.check import check_folder

    assert check_folder(tmp_path / "out") == []


def test_a_catalog_sets_its_own_budget(tmp_path: Path) -> None:
    catalog = load_catalog(odd_catalog(tmp_path / "catalog", "overhead_budget: {cpu: 250, ephemeral-storage: 300}\n"))
    found = uses(catalog, ["pinger"], log_dir=None, metrics_path=None)
    assert {r: (u.budget, u.over) for r, u in found.items()} == {
        "cpu": (250, True),  # 500m of the app's 100m: 500%
        "memory": (50, True),  # the default for what the policy leaves out: 512M of 128Mi
        "ephemeral-storage": (300, True)}  # 1Gi of 64Mi


def test_new_warns_over_budget_and_fails_with_strict(tmp_path: Path) -> None:
    answers = write_answers(tmp_path / "a.yaml", FULL_ANSWERS)
    result = run_cli("new", "--answers", str(answers), "--no-input", "-o", str(tmp_path / "out"))
    assert result.exit_code == 0
    assert ("warning: sidecar overhead: cpu: the sidecars request 120m, 120% of the app's 100m, over the "
            "catalog's budget of 50%") in result.output
    strict = run_cli("new", "--answers", str(answers), "--no-input", "-o", str(tmp_path / "strict"), "--strict")
    assert strict.exit_code == 1 and not (tmp_path / "strict").exists()
    assert strict.output.strip().splitlines() == [
        "error: sidecars: cpu: the sidecars request 120m, 120% of the app's 100m, over the catalog's budget "
        "of 50% (--strict)"]
    within = copy.deepcopy(FULL_ANSWERS)
    within["app"]["resources"] = {"requests": {"cpu": "500m", "memory": "512Mi", "ephemeral-storage": "128Mi"},
                                  "limits": {"memory": "1Gi", "ephemeral-storage": "512Mi"}}
    result = run_cli("new", "--answers", str(write_answers(tmp_path / "w.yaml", within)), "--no-input",
                     "-o", str(tmp_path / "within"), "--strict")
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output


def test_dry_run_shows_the_figures(tmp_path: Path) -> None:
    answers = write_answers(tmp_path / "a.yaml", FULL_ANSWERS)
    result = run_cli("new", "--answers", str(answers), "--no-input", "-o", str(tmp_path / "out"), "--dry-run")
    assert "  memory             requests 128Mi + 224Mi = 352Mi   limits 512Mi + 640Mi = 1.1Gi   175%, over the 50% budget" \
        in result.output
    assert not (tmp_path / "out").exists()


def test_check_reports_the_overhead_and_fails_with_strict(tmp_path: Path) -> None:
    answers = write_answers(tmp_path / "a.yaml", FULL_ANSWERS)
    assert run_cli("new", "--answers", str(answers), "--no-input", "-o", str(tmp_path / "out")).exit_code == 0
    result = run_cli("check", str(tmp_path / "out"))
    assert result.exit_code == 0
    assert (f"{tmp_path / 'out'}: Deployment orders-api: sidecar overhead: memory: the sidecars request 224Mi, "
            "175% of the app's 128Mi, over the catalog's budget of 50% (a warning; a problem with --strict)") \
        in result.output
    assert run_cli("check", str(tmp_path / "out"), "--strict").exit_code == 1


def test_check_reads_the_recorded_budget(tmp_path: Path) -> None:
    catalog = odd_catalog(tmp_path / "catalog", "overhead_budget: {cpu: 10000, memory: 10000, ephemeral-storage: 10000}\n")
    answers = write_answers(tmp_path / "a.yaml", {"app": {"name": "shop", "image": "registry.example.com/shop:1.0.0"},
                                                  "sidecars": ["pinger"]})
    result = run_cli("new", "--catalog", str(catalog), "--answers", str(answers), "--no-input", "-o", str(tmp_path / "out"))
    assert result.exit_code == 0 and "warning" not in result.output
    record = yaml.safe_load((tmp_path / "out" / ".sidecar-new.yaml").read_text())
    assert record["generated_by"]["overhead_budget"] == {"cpu": 10000, "memory": 10000, "ephemeral-storage": 10000}
    assert run_cli("check", str(tmp_path / "out"), "--strict").exit_code == 0
