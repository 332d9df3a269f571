"""The checks the wizard runs while answering give the same reasons as the answers file."""

from __future__ import annotations

from dataclasses import replace

import pytest

from generator.wizard import checks
from generator.catalog.loader import Catalog
from generator.errors import SpecError
from generator.input.spec import parse_spec

APP = checks.app_of({"name": "web", "image": "team/web:1.0", "port": 9901})


def test_a_port_parameter_equal_to_the_app_port_is_a_clash_naming_the_owner(builtin_catalog) -> None:
    envoy = builtin_catalog.get("envoy")
    params = checks.param_values(envoy, {})
    clashes = checks.port_clashes(envoy, APP, params, checks.app_ports(APP))
    assert [(c.number, c.owner, c.param) for c in clashes] == [(9901, "the app", "admin_port")]
    # the answers file refuses the same thing with the same reason
    with pytest.raises(SpecError, match=r"port 9901/TCP \(envoy-admin\) is already taken by the app"):
        parse_spec({"app": {"name": "web", "image": "team/web:1.0", "port": 9901}, "sidecars": ["envoy"]},
                   builtin_catalog)


def test_two_sidecars_on_one_port_clash_with_the_earlier_one(builtin_catalog) -> None:
    taken = checks.app_ports(APP)
    metrics = builtin_catalog.get("metrics")
    assert checks.port_clashes(metrics, APP, checks.param_values(metrics, {}), taken) == []
    checks.claim_ports(metrics, APP, checks.param_values(metrics, {}), taken)
    envoy = builtin_catalog.get("envoy")
    clashes = checks.port_clashes(envoy, APP, checks.param_values(envoy, {"listen_port": 9102,
                                                                          "admin_port": 9000}), taken)
    assert [(c.owner, c.param) for c in clashes] == [("sidecar 'metrics'", "listen_port")]


def test_sidecars_the_catalog_declares_in_conflict_are_refused(builtin_catalog) -> None:
    catalog = Catalog("t", "1", "t", tuple(
        replace(t, conflicts=("envoy",)) if t.name == "metrics" else t for t in builtin_catalog.templates))
    assert checks.selection_problem(["envoy", "metrics"], catalog, APP, {}) == (
        "sidecars: 'metrics' cannot go with 'envoy' (the catalog declares them in conflict)")
    assert checks.selection_problem(["envoy"], catalog, APP, {}) is None


def test_a_sidecar_needing_the_log_folder_is_reported_when_the_app_has_none(builtin_catalog) -> None:
    assert checks.missing_needs(["fluentd", "envoy"], builtin_catalog, {"name": "web"}) == [("fluentd", "log_dir")]
    assert checks.missing_needs(["fluentd"], builtin_catalog, {"log_dir": "/var/log/web"}) == []


@pytest.mark.parametrize("value", ["kube-system", "Shop", "default"])
def test_namespace_rule_is_the_spec_rule(value: str) -> None:
    with pytest.raises(SpecError) as refused:
        checks.namespace("kubernetes.namespace", value)
    assert refused.value.message.startswith("kubernetes.namespace: ")


def test_typed_numbers_become_ints_and_other_text_stays_text() -> None:
    assert checks.to_int(" 8080 ") == 8080 and checks.to_int("80a") == "80a"


def test_a_malformed_prefilled_sidecar_gets_the_answers_file_message(builtin_catalog) -> None:
    assert checks.prefilled_sidecars(["fluentd", {"name": "envoy", "params": {"listen_port": 10001}}],
                                     builtin_catalog) == [("fluentd", {}), ("envoy", {"listen_port": 10001})]
    with pytest.raises(SpecError, match=r"sidecars.envoy.params.port: unknown parameter of 'envoy'"):
        checks.prefilled_sidecars([{"name": "envoy", "params": {"port": 1}}], builtin_catalog)
    with pytest.raises(SpecError, match=r"'ghost' is not in catalog 'builtin'"):
        checks.prefilled_sidecars(["ghost"], builtin_catalog)


def _spec_message(answers: dict, catalog) -> str:
    with pytest.raises(SpecError) as refused:
        parse_spec({"app": {"name": "web", "image": "team/web:1.0"}, **answers}, catalog)
    return refused.value.message


def _wizard_message(check) -> str:
    with pytest.raises(SpecError) as refused:
        check()
    return refused.value.message


@pytest.mark.parametrize("answers, wizard", [
    ({"kubernetes": {"namespace": "kube-system"}}, lambda c: checks.namespace("kubernetes.namespace", "kube-system")),
    ({"kubernetes": {"namespace": "Shop"}}, lambda c: checks.namespace("kubernetes.namespace", "Shop")),
    ({"sidecars": [{"name": "envoy", "params": {"port": 1}}]},
     lambda c: checks.prefilled_sidecars([{"name": "envoy", "params": {"port": 1}}], c)),
    ({"sidecars": ["envoy", "envoy"]}, lambda c: checks.prefilled_sidecars(["envoy", "envoy"], c)),
    ({"sidecars": [["envoy"]]}, lambda c: checks.prefilled_sidecars([["envoy"]], c)),
    ({"sidecars": [{"name": "envoy", "params": {"listen_port": 70000}}]},
     lambda c: checks.check_param(c.get("envoy"), "listen_port", 70000)),
], ids=["reserved namespace", "namespace not a label", "unknown parameter", "listed twice", "malformed entry",
        "parameter value"])
def test_the_wizard_and_the_answers_file_refuse_with_the_same_message(builtin_catalog, answers, wizard) -> None:
    assert _wizard_message(lambda: wizard(builtin_catalog)) == _spec_message(answers, builtin_catalog)


def test_conflicts_and_needs_read_the_same_in_the_wizard_and_the_answers_file(builtin_catalog) -> None:
    from generator.input.sidecars import needs_message

    catalog = Catalog("t", "1", "t", tuple(
        replace(t, conflicts=("envoy",)) if t.name == "metrics" else t for t in builtin_catalog.templates))
    assert checks.selection_problem(["envoy", "metrics"], catalog, APP, {}) == _spec_message(
        {"sidecars": ["envoy", "metrics"]}, catalog)
    [(sidecar, field)] = checks.missing_needs(["fluentd"], builtin_catalog, {"name": "web"})
    assert needs_message(sidecar, field) == _spec_message({"sidecars": ["fluentd"]}, builtin_catalog)
