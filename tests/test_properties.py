"""Property-based tests: valid answers always render output the real validators accept,
invalid ones are always refused with a SpecError, and rendering is deterministic."""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import examples
from generator.catalog.loader import load_catalog
from generator.tools.check import check_folder
from generator.errors import SpecError
from generator.pipeline import build
from generator.rules import KUBERNETES_VERSIONS
from generator.input.spec import parse_spec
from generator.output.writer import write

CATALOG = load_catalog()
# Every port a sidecar may take in valid_answers (defaults and the listen ports drawn below).
SIDECAR_PORTS = {24220, 10000, 9901, 9102, 9125, 10080, 18000}
# Parameters drawn per sidecar: each a strategy for a valid value (the rest keep defaults).
SIDECAR_PARAMS = {
    "envoy": {"listen_port": st.sampled_from([10000, 10080, 18000]), "drain_seconds": st.integers(1, 30)},
    "fluentd": {"format": st.sampled_from(["none", "json"]),
                "forward_host": st.sampled_from(["", "aggregator.example.com", "10.0.0.7"])},
    "metrics": {},
}

dns_labels = st.from_regex(r"[a-z]([a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
namespaces = dns_labels.filter(lambda n: n != "default" and not n.startswith("kube-"))
components = st.from_regex(r"[a-z0-9]{1,8}([._-][a-z0-9]{1,5})?", fullmatch=True)
tags = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,15}", fullmatch=True).filter(lambda t: t != "latest")
digests = st.from_regex(r"sha256:[a-f0-9]{64}", fullmatch=True)


@st.composite
def images(draw) -> str:
    registry = draw(st.one_of(st.just(""), st.builds(
        lambda host, port: f"{host}.example.com{port}/", components.filter(lambda c: "_" not in c and "." not in c),
        st.one_of(st.just(""), st.integers(1, 65535).map(lambda p: f":{p}")))))
    path = "/".join(draw(st.lists(components, min_size=1, max_size=3)))
    tag = draw(st.one_of(st.none(), tags))
    digest = draw(digests) if tag is None or draw(st.booleans()) else None
    return registry + path + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")


@st.composite
def valid_answers(draw) -> dict:
    names = draw(st.lists(st.sampled_from(["fluentd", "envoy", "metrics"]), unique=True))
    sidecars: list = []
    for name in names:
        params = {key: draw(value) for key, value in SIDECAR_PARAMS[name].items() if draw(st.booleans())}
        sidecars.append({"name": name, "params": params} if params else name)
    app = {
        "name": draw(dns_labels),
        "image": draw(images()),
        "port": draw(st.integers(1, 65535).filter(lambda p: p not in SIDECAR_PORTS)),
        "health_path": draw(st.from_regex(r"/[a-z0-9/_.-]{0,20}(\?[a-z0-9=&]{0,10})?", fullmatch=True)),
        "replicas": draw(st.integers(1, 5)),
    }
    if "fluentd" in names or draw(st.booleans()):
        app["log_dir"] = draw(st.from_regex(r"(/[a-z0-9_-]{1,10}){1,3}", fullmatch=True))
    if draw(st.booleans()):
        app["metrics_path"] = draw(st.from_regex(r"/[a-z0-9/_-]{0,12}", fullmatch=True))
    answers = {"app": app, "sidecars": sidecars,
               "targets": draw(st.sampled_from([["compose"], ["kubernetes"], ["compose", "kubernetes"]])),
               "kubernetes": {"version": draw(st.sampled_from(KUBERNETES_VERSIONS))}}
    if draw(st.booleans()):  # a Compose healthcheck the image is said to run
        app["health_command"] = draw(st.lists(st.from_regex(r"[a-z0-9/:._=-]{1,16}", fullmatch=True),
                                              min_size=1, max_size=4))
    if draw(st.booleans()):
        answers["kubernetes"]["namespace"] = draw(namespaces)
    if draw(st.booleans()):
        answers["kubernetes"]["create_namespace"] = draw(st.booleans())
    return answers


@settings(max_examples=examples(12), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answers=valid_answers())
def test_valid_answers_render_output_the_real_validators_accept(answers: dict) -> None:
    files = build(parse_spec(answers, CATALOG), CATALOG)
    with tempfile.TemporaryDirectory() as scratch:
        write(files, Path(scratch) / "out")
        assert check_folder(Path(scratch) / "out") == []


@settings(max_examples=examples(60), deadline=None)
@given(answers=valid_answers())
def test_rendering_the_same_answers_twice_is_byte_identical(answers: dict) -> None:
    assert build(parse_spec(answers, CATALOG), CATALOG) == build(parse_spec(copy.deepcopy(answers), CATALOG), CATALOG)


BAD_VALUES = {
    "app.name": st.one_of(st.from_regex(r"[A-Z_ .][a-z]{0,5}", fullmatch=True), st.text(min_size=64, max_size=70),
                          st.integers(), st.just("")),
    "app.image": st.one_of(st.from_regex(r"[a-z]{1,5}( |\n|\t)[a-z]{1,3}:1", fullmatch=True),
                           st.from_regex(r"[a-z]{1,8}(:latest)?", fullmatch=True), st.integers()),
    "app.port": st.one_of(st.integers(max_value=0), st.integers(min_value=65536), st.text(), st.booleans()),
    "app.health_path": st.one_of(st.from_regex(r"[a-z][a-z/]{0,9}", fullmatch=True),
                                 st.from_regex(r"/[a-z]{0,5}(\?[a-z]{0,3})?[ #\n][a-z]{0,3}", fullmatch=True)),
    "app.replicas": st.one_of(st.integers(max_value=0), st.integers(min_value=101), st.text()),
    "targets": st.lists(st.text(max_size=8).filter(lambda t: t not in ("compose", "kubernetes", "both")), min_size=1),
    "kubernetes.version": st.one_of(st.sampled_from(["1.24", "1.38", "2.0", "latest"]), st.integers()),
    "kubernetes.namespace": st.one_of(st.from_regex(r"kube-[a-z]{1,5}", fullmatch=True),
                                      st.from_regex(r"[A-Z][a-z]{0,4}", fullmatch=True)),
}


@settings(max_examples=examples(150), deadline=None)
@given(answers=valid_answers(), field=st.sampled_from(sorted(BAD_VALUES)), data=st.data())
def test_invalid_answers_are_always_refused_cleanly(answers: dict, field: str, data) -> None:
    section, key = field.split(".") if "." in field else (field, None)
    bad = data.draw(BAD_VALUES[field])
    if key is None:
        answers[section] = bad
    else:
        answers.setdefault(section, {})[key] = bad
    with pytest.raises(SpecError) as refused:
        parse_spec(answers, CATALOG)
    message = refused.value.message
    assert "\n" not in message and message.startswith(field.split(".")[0])


@settings(max_examples=examples(200), deadline=None)
@given(answers=valid_answers(), key=st.sampled_from(["name", "image", "port", "health_path", "log_dir",
                                                      "metrics_path", "replicas", "health_command"]),
       value=st.one_of(st.none(), st.text(), st.integers(), st.floats(), st.booleans(),
                       st.lists(st.text(max_size=5), max_size=3), st.dictionaries(st.text(max_size=3), st.integers())))
def test_any_value_in_any_app_field_gives_a_spec_or_a_spec_error(answers: dict, key: str, value) -> None:
    answers["app"][key] = value
    try:
        spec = parse_spec(answers, CATALOG)
    except SpecError as refused:
        assert "\n" not in refused.message
    else:
        files = build(spec, CATALOG)
        assert ".sidecar-new.yaml" in files and files[".sidecar-new.yaml"]  # a render, not just no error
