"""The sandbox's data plane: a zone's nats-server and the region hub run from the configs edgeops renders, the
zone's JetStream assets applied by the reconciler's NATS code, and `edgeops serve` started with the runtime.json
edgeops renders. Matrix: every record sent gets exactly one result (a live canary is built from its recipe and
served beside stable, each with its share); a model whose source does not build to the
pinned digest is reported as not run instead of being served."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.app.desired import load_desired
from reconciler.sandbox import run_dataplane

pytestmark = pytest.mark.integration


@pytest.mark.timeout(300)
def test_every_record_gets_one_result(template_fleet: Path, tmp_path: Path) -> None:
    load = load_desired(template_fleet)
    assert load.spec is not None
    zone = load.spec.zone("lis-03")  # sensor-anomaly, no canary: every record is the stable track's
    assert zone is not None

    report = run_dataplane(
        load.spec, "eu-west", zone, state=tmp_path / "state", models_root=template_fleet / "models", records=300
    )

    assert report.nats_status == "Ready"
    assert [(r.model, r.track, r.version, r.sent, r.results) for r in report.runs] == [
        ("sensor-anomaly", "stable", "1.0.0", 300, 300)
    ]
    assert report.runs[0].p95_ms > 0
    assert report.skipped == ()


@pytest.mark.timeout(300)
def test_the_canary_is_built_and_served_with_its_share_of_the_traffic(template_fleet: Path, tmp_path: Path) -> None:
    load = load_desired(template_fleet)
    assert load.spec is not None
    zone = load.spec.zone("ams-01")  # fraud-scoring 1.0.0, live canary 1.1.0 at 10 %
    assert zone is not None

    report = run_dataplane(
        load.spec, "eu-west", zone, state=tmp_path / "state", models_root=template_fleet / "models", records=600
    )

    stable, canary = report.runs
    assert (stable.track, stable.version, canary.track, canary.version) == ("stable", "1.0.0", "canary", "1.1.0")
    assert 0.80 * 600 <= stable.results <= 0.97 * 600, "about 90 % of the records go to stable"
    assert stable.results + canary.results == 600, "every record scored once, by one track"
    assert report.skipped == ()


@pytest.mark.timeout(300)
def test_a_model_that_does_not_build_to_its_digest_is_not_served(template_fleet: Path, tmp_path: Path) -> None:
    model_yaml = template_fleet / "models/sensor-anomaly/model.yaml"
    text = model_yaml.read_text(encoding="utf-8")
    built = text.split("digest: ", 1)[1].split("\n", 1)[0]
    model_yaml.write_text(text.replace(built, "sha256:" + "1" * 64), encoding="utf-8")
    load = load_desired(template_fleet)
    assert load.spec is not None, load.problems
    zone = load.spec.zone("lis-03")
    assert zone is not None

    report = run_dataplane(
        load.spec, "eu-west", zone, state=tmp_path / "state", models_root=template_fleet / "models", records=10
    )

    assert report.runs == ()
    assert len(report.skipped) == 1
    assert "the zone pins sha256:1111" in report.skipped[0]
