"""`edgeops sandbox demo`: the whole loop on a running region, step by step, each step proven by a real part.

1. a person's pull request starts the good version's canary (the sandbox's demo policy) → the bot's plan comment
   and `edgeops/validate` → the person merges → the zone converges (its apiserver: the canary workload's pods Ready
   on the new version) → the canary takes its share of the records (Prometheus);
2. the canary controller's step pull requests, merged with their evidence, then its promotion → the zone runs the
   good version as stable, and no canary;
3. a second pull request starts the deliberately slow version → analysis breaches the p95 SLO → the controller's
   rollback pull request, merged at once → the canary workload is gone and the stable one Ready;
4. the zone's JetStream: records taken in vs results out, dead letters and records still in flight.

Every step waits for its condition with a timeout and raises `DemoFailed` naming the step and what the parts
showed. What is shown comes from the forge's REST API, the zone's apiserver, Prometheus and the nats-server; the
demo keeps no state of its own but the pull request numbers it opened and the moments it first saw a condition.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, TypeVar

from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from reconciler.app.desired import load_desired
from reconciler.core.bot import marker
from reconciler.core.canary import Selector, thresholds_for
from reconciler.core.canary.promql import p95_latency_ms
from reconciler.core.load import round_trip_yaml
from reconciler.core.nats import naming
from reconciler.core.render.labels import deployment_name
from reconciler.core.spec import FleetSpec, ModelAssignment
from reconciler.sandbox.region.fleetrepo import DEMO_POLICY
from reconciler.sandbox.region.layout import Layout
from reconciler.sandbox.region.parts import PartError, Region, Workload, forge_time
from reconciler.sandbox.region.supervisor import ADMIN_LOGIN, BOT_LOGIN
from reconciler.shells.prometheus import Prometheus, PrometheusError

T = TypeVar("T")
POLL_S = 1.0
RECORDS_SETTLE_S = 30.0  # a gap between two streams' counts closes within seconds; a lost record never does
_PLAN = marker("plan")
_EVIDENCE = marker("canary:evidence")
_AUTHOR = ["-c", f"user.name={ADMIN_LOGIN}", "-c", f"user.email={ADMIN_LOGIN}@edgeops.invalid"]


class DemoFailed(Exception):
    """A step did not happen: `step` names it, `observed` says what the parts showed instead."""

    def __init__(self, step: str, observed: str) -> None:
        super().__init__(f"{step}: {observed}")
        self.step, self.observed = step, observed


class Show(Protocol):
    """Where the demo's timeline goes (the CLI renders it with rich)."""

    def step(self, title: str) -> None: ...  # a step starts
    def event(self, text: str) -> None: ...  # something a part showed
    def document(self, title: str, body: str) -> None: ...  # a pull request or comment as the forge holds it
    def waiting(self, text: str) -> None: ...  # what the demo waits for now


@dataclass(frozen=True)
class DemoOptions:
    model: str = "fraud-scoring"
    good: str = "1.1.0"
    bad: str = "1.2.0-slow"
    zone: str | None = None  # default: the first zone of the region serving the model
    step_timeout_s: float = 300.0  # the longest any one step may take


@dataclass
class DemoReport:
    zone: str = ""
    converged_s: list[tuple[str, float]] = field(default_factory=list)  # (what merged, merge → converged)
    shares: list[tuple[int, float]] = field(default_factory=list)  # (weight, canary share Prometheus measured)
    breach_s: float | None = None  # first p95 over the SLO (Prometheus) → rollback applied (apiserver)
    detected_s: float | None = None  # rollback PR opened → rollback applied
    records: dict[str, int] = field(default_factory=dict)  # taken in, results, dead letters, in flight, lost


def until(step: str, what: str, probe: Callable[[], T | None], observe: Callable[[], str], timeout_s: float) -> T:
    """Poll `probe` until it returns a value; on timeout, fail naming `step`, `what` and what `observe` sees."""
    deadline = time.monotonic() + timeout_s
    last_error = ""
    while True:
        try:
            found = probe()
        except (PartError, PrometheusError, OSError) as error:  # a part busy for a moment: keep asking
            found, last_error = None, f" (last error: {error})"
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise DemoFailed(step, f"{what} not seen within {timeout_s:.0f} s; observed: {observe()}{last_error}")
        time.sleep(POLL_S)


class Demo:
    def __init__(self, layout: Layout, options: DemoOptions, show: Show) -> None:
        self.region = Region.of(layout)
        self.options, self.show = options, show
        self.prom = Prometheus(self.region.prometheus)
        self.report = DemoReport()
        self.spec = self._spec()
        self.zone = options.zone or self._zone()
        self.report.zone = self.zone
        self.stable = deployment_name(options.model, "stable")
        self.canary = deployment_name(options.model, "canary")

    def _until(self, step: str, what: str, probe: Callable[[], T | None], observe: Callable[[], str]) -> T:
        self.show.waiting(f"{step}: waiting for {what}")
        return until(step, what, probe, observe, self.options.step_timeout_s)

    # ------------------------------------------------------------------ the scenario

    def run(self) -> DemoReport:
        o = self.options
        self._check_start()
        self.show.step(f"1. a pull request starts the {o.model} {o.good} canary in {self.zone}")
        number = self._start_canary(o.good)
        self._traffic(o.good)
        self.show.step("2. the canary controller analyses, steps and promotes through pull requests")
        self._progress(number, o.good)
        self.show.step(f"3. a pull request starts the deliberately slow {o.model} {o.bad}")
        number = self._start_canary(o.bad)
        serving = datetime.now(UTC)  # the slow canary's pods are Ready: from here its records are its own
        self._traffic(o.bad)
        self._rollback(number, o.bad, o.good, serving)
        self.show.step(f"4. records taken in by {self.zone} vs results out (its nats-server's JetStream)")
        self._records()
        return self.report

    def _check_start(self) -> None:
        assignment = self._assignment()
        version, canary = assignment.version, assignment.canary
        if canary is not None or version in (self.options.good, self.options.bad):
            running = f"{version}" + (f" with a {canary.version} canary" if canary else "")
            raise DemoFailed(
                "start",
                f"{self.zone} already runs {self.options.model} {running} on main (the demo ran here before): "
                "`edgeops sandbox down`, then `edgeops sandbox demo` starts a fresh region",
            )
        stable = self._until(
            "start",
            f"{self.zone}'s {self.stable} Ready",
            lambda: self._converged(self.stable, version),
            lambda: self._observe(self.stable),
        )
        self.show.event(f"{self.zone}: {stable.describe()} (apiserver)")
        taken = self._until(
            "start",
            f"{self.zone}'s runtimes taking records",
            lambda: self._rate(f'track="stable",version="{version}"') or None,
            lambda: f"{self.zone} takes {self._rate('')} records/s (Prometheus)",
        )
        self.show.event(f"{self.zone}: stable {version} takes {taken:.1f} records/s (Prometheus)")

    def _start_canary(self, version: str) -> int:
        step = f"canary {version}"
        policy = self.spec.policies[DEMO_POLICY]
        weight = policy.spec.steps[0]
        pull = self._open_pull(version, weight)
        number = int(pull["number"])
        self.show.event(f"{ADMIN_LOGIN} opened #{number}: {pull['title']}")
        self.show.document(f"#{number} {pull['title']} (by {pull['user']['login']})", pull["body"])
        head = pull["head"]["sha"]
        plan = self._until(
            step,
            f"the bot's plan comment on #{number}",
            lambda: next((c for c in self.region.forge.comments(number) if _PLAN in c["body"]), None),
            lambda: f"{len(self.region.forge.comments(number))} comments on #{number}; see the bot's log",
        )
        self.show.event(f"{plan['user']['login']} commented the plan on #{number}")
        self.show.document(f"#{number} plan comment (by {plan['user']['login']})", plan["body"])
        state = self._until(
            step,
            f"edgeops/validate on #{number}'s head",
            lambda: _settled(self.region.forge.statuses(head).get("edgeops/validate")),
            lambda: str(self.region.forge.statuses(head)),
        )
        if state != "success":
            raise DemoFailed(step, f"edgeops/validate on #{number} is {state}: the bot found the change invalid")
        self.show.event(f"edgeops/validate: {state}")
        self.region.forge.call(
            "PUT", f"/pulls/{number}/merge", {"sha": head, "commit_message": f"Merge #{number}: {pull['title']}"}
        )
        merged = self.region.forge.pull(number)
        self.show.event(f"#{number} merged by {(merged.get('merged_by') or {}).get('login', '?')}")
        workload = self._converge(f"#{number}", merged, self.canary, version)
        self.show.event(f"{self.zone}: {workload.describe()} (apiserver)")
        return number

    def _traffic(self, version: str) -> None:
        rate = self._until(
            f"canary {version}",
            f"records reaching the {version} canary",
            lambda: self._rate(f'track="canary",version="{version}"') or None,
            lambda: f"the zone's records/s by track: {self._by_track()} (Prometheus)",
        )
        self.show.event(f"the {version} canary takes {rate:.1f} records/s (Prometheus)")

    def _progress(self, opened: int, version: str) -> None:
        """Follow the controller's pull requests after #`opened` until the promotion is merged and applied."""
        step = f"canary {version}"
        seen: dict[int, bool] = {}  # controller pull request → merged seen
        while True:
            pull = self._until(
                step,
                "the canary controller's next pull request, or its merge",
                lambda: self._controller_news(opened, seen),
                lambda: self._latest_analysis(opened),
            )
            labels = {label["name"] for label in pull["labels"]}
            if "canary:rollback" in labels:
                raise DemoFailed(
                    step, f"the controller rolled {version} back: #{pull['number']} {pull['title']}\n{pull['body']}"
                )
            self._show_controller_pull(pull)
            if pull["merged"] and "canary:promote" in labels:
                workload = self._converge(f"#{pull['number']} (promotion)", pull, self.stable, version)
                self._canary_gone(step)
                self.show.event(f"{self.zone}: {workload.describe()}; no canary (apiserver)")
                return

    def _rollback(self, opened: int, version: str, stable: str, serving: datetime) -> None:
        step = f"rollback of {version}"
        seen: dict[int, bool] = {}
        while True:
            pull = self._until(
                step,
                "the canary controller's rollback pull request, merged",
                lambda: self._controller_news(opened, seen),
                lambda: self._latest_analysis(opened),
            )
            labels = {label["name"] for label in pull["labels"]}
            if "canary:rollback" not in labels:
                raise DemoFailed(step, f"the controller moved the slow {version} on: #{pull['number']} {pull['title']}")
            self._show_controller_pull(pull)
            if pull["merged"]:
                break
        self._canary_gone(step)
        applied = datetime.now(UTC)
        workload = self._until(
            step,
            f"{self.zone}'s {self.stable} Ready on {stable}",
            lambda: self._converged(self.stable, stable),
            lambda: self._observe(self.stable),
        )
        self.show.event(f"{self.zone}: {self.canary} gone, {workload.describe()} (apiserver)")
        opened_at = forge_time(pull["created_at"])
        self.report.detected_s = (applied - opened_at).total_seconds()
        breach = self._first_breach(version, serving, opened_at)
        if breach is not None:
            at, value, ceiling = breach
            self.report.breach_s = (applied - at).total_seconds()
            self.show.event(
                f"Prometheus: the {version} canary's p95 first over {ceiling:g} ms at {at:%H:%M:%S} "
                f"({value:.0f} ms); rollback applied {self.report.breach_s:.0f} s later"
            )

    def _records(self) -> None:
        """Every record the zone took in has a result, a dead letter, or is still in its input stream. The counts
        come from two streams read one after the other while the sensors go on, so a record answered between the
        reads can be missing from both for a moment: a real loss stays, such a gap does not; the demo reads
        until the counts balance (or the step times out with the gap it saw last)."""
        names = _stream_names(self.zone, self.options.model)
        seen: list[dict[str, int]] = []

        def balanced() -> dict[str, int] | None:
            streams = self.region.streams(self.zone)
            missing = [n for n in names.values() if n not in streams]
            if missing:
                raise DemoFailed("records", f"{self.zone}'s nats-server has no stream {', '.join(missing)}")
            counts = {
                "taken in": int(streams[names["input"]]["last_seq"]),
                "results": int(streams[names["results"]]["messages"]),
                "dead letters": int(streams[names["dead"]]["messages"]),
                "in flight": int(streams[names["input"]]["messages"]),
            }
            lost = counts["taken in"] - counts["results"] - counts["dead letters"] - counts["in flight"]
            seen.append(counts | {"lost": max(lost, 0)})
            return seen[-1] if lost <= 0 else None

        self.show.waiting("records: waiting for JetStream's counts to balance")
        counts = until(
            "records",
            "every record taken in answered, dead-lettered or still queued",
            balanced,
            lambda: (
                f"{seen[-1]['lost']} of {seen[-1]['taken in']} records have neither a result nor a dead letter "
                f"nor are queued ({seen[-1]})"
                if seen
                else "no counts"
            ),
            RECORDS_SETTLE_S,
        )
        self.report.records = counts
        self.show.event(
            f"{names['input']}: {counts['taken in']} records taken in, {counts['in flight']} still queued; "
            f"{names['results']}: {counts['results']} results; {names['dead']}: {counts['dead letters']} dead "
            "letters — none lost"
        )

    # ------------------------------------------------------------------ the forge

    def _open_pull(self, version: str, weight: int) -> dict[str, Any]:
        work = self.region.layout.root / "demo" / f"{self.options.model}-{version}"
        shutil.rmtree(work, ignore_errors=True)
        _git(work.parent, "clone", "-q", str(self.region.remote), work.name)
        branch = f"demo/{self.options.model}-{version}-canary"
        _git(work, "checkout", "-q", "-b", branch)
        path = _zone_file(work, self.zone)
        started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        _add_canary(path, self.options.model, version, weight, started)
        _git(work, "commit", "-q", "-am", f"Start the {self.options.model} {version} canary in {self.zone}")
        _git(work, "push", "-q", "origin", branch)
        title = f"Start the {self.options.model} {version} canary in {self.zone}"
        body = (
            f"Runs {self.options.model} {version} beside the stable version in {self.zone}, at {weight} % of the "
            f"live traffic to begin with, under the `{DEMO_POLICY}` canary policy: the canary controller steps it "
            "through the policy's weights while every analysis passes, promotes it after the last, and rolls it "
            "back on the first failed analysis."
        )
        pull: dict[str, Any] = self.region.forge.call(
            "POST", "/pulls", {"title": title, "head": branch, "base": "main", "body": body}
        )
        return pull

    def _controller_news(self, after: int, seen: dict[int, bool]) -> dict[str, Any] | None:
        """The first of the controller's pull requests after #`after` that is new, or newly merged."""
        for pull in self.region.forge.pulls():
            number = int(pull["number"])
            if number <= after or pull["user"]["login"] != BOT_LOGIN:
                continue
            if number not in seen or (pull["merged"] and not seen[number]):
                seen[number] = bool(pull["merged"])
                return pull
        return None

    def _show_controller_pull(self, pull: dict[str, Any]) -> None:
        number = pull["number"]
        if not pull["merged"]:
            self.show.event(f"{pull['user']['login']} opened #{number}: {pull['title']}")
            return
        by = (pull.get("merged_by") or {}).get("login", "?")
        self.show.event(f"#{number} {pull['title']}: merged by {by}")
        self.show.document(f"#{number} {pull['title']} (by {pull['user']['login']})", pull["body"])
        for comment in self.region.forge.comments(number):
            if _EVIDENCE in comment["body"]:
                self.show.document(f"#{number} evidence comment (by {comment['user']['login']})", comment["body"])
        self._share_before(pull)

    def _share_before(self, pull: dict[str, Any]) -> None:
        """The canary's share of the zone's records over the analysis window before the controller's decision,
        at the weight main held before the merge (the merge commit's first parent)."""
        before = load_desired(self.region.remote, f"{pull['merge_commit_sha']}^1").spec
        zone = before.zone(self.zone) if before is not None else None
        assignment = next((a for a in zone.spec.models if a.model == self.options.model), None) if zone else None
        group = assignment.canary if assignment is not None else None
        if group is None or group.phase != "live":
            return
        at = forge_time(pull["created_at"])
        window = int(self.spec.policies[DEMO_POLICY].spec.analysis_interval.total_seconds())
        selector = f'zone="{self.zone}",model="{self.options.model}"'
        canary = self.prom.scalar(f'sum(rate(edgeops_requests_total{{{selector},track="canary"}}[{window}s]))', at)
        total = self.prom.scalar(f"sum(rate(edgeops_requests_total{{{selector}}}[{window}s]))", at)
        if canary is not None and total:
            share = 100 * canary / total
            self.report.shares.append((group.weight, share))
            self.show.event(
                f"at weight {group.weight} %, the canary took {share:.0f} % of {total:.1f} records/s in the "
                f"{window} s before the decision (Prometheus)"
            )

    def _latest_analysis(self, after: int) -> str:
        """The newest thing the controller said about the canary: its latest comment on its newest pull request."""
        pulls = [p for p in self.region.forge.pulls() if int(p["number"]) > after]
        for pull in reversed(pulls):
            comments = self.region.forge.comments(int(pull["number"]))
            if comments:
                return f"#{pull['number']} {pull['title']}; its newest comment:\n{comments[-1]['body'][:2000]}"
        log = self.region.layout.logs / "canary.log"
        tail = log.read_text(errors="replace").splitlines()[-8:] if log.exists() else []
        return "no pull request from the controller yet; its log ends:\n" + "\n".join(tail)

    # ------------------------------------------------------------------ the zone

    def _converge(self, what: str, merged: dict[str, Any], name: str, version: str) -> Workload:
        workload = self._until(
            f"converge after {what}",
            f"{self.zone}'s {name} Ready on {version}",
            lambda: self._converged(name, version),
            lambda: self._observe(name),
        )
        seconds = (datetime.now(UTC) - forge_time(merged["merged_at"])).total_seconds()
        self.report.converged_s.append((what, seconds))
        self.show.event(f"merge of {what} → {self.zone} converged: {seconds:.0f} s")
        return workload

    def _canary_gone(self, step: str) -> None:
        self._until(
            step,
            f"{self.canary} removed from {self.zone}",
            lambda: self.region.workload(self.zone, self.canary) is None or None,
            lambda: self._observe(self.canary),
        )

    def _converged(self, name: str, version: str) -> Workload | None:
        found = self.region.workload(self.zone, name)
        return found if found is not None and found.converged and found.version == version else None

    def _observe(self, name: str) -> str:
        try:
            found = self.region.workload(self.zone, name)
        except PartError as error:
            return str(error)
        return f"{self.zone}: " + (found.describe() if found else f"no {name}") + " (apiserver)"

    # ------------------------------------------------------------------ Prometheus

    def _rate(self, matchers: str) -> float:
        selector = ",".join(m for m in (f'zone="{self.zone}",model="{self.options.model}"', matchers) if m)
        return self.prom.scalar(f"sum(rate(edgeops_requests_total{{{selector}}}[30s]))", datetime.now(UTC)) or 0.0

    def _by_track(self) -> str:
        found = self.prom.vector(
            f'sum by (track, version) (rate(edgeops_requests_total{{zone="{self.zone}"}}[30s]))', datetime.now(UTC)
        )
        return ", ".join(f"{m.get('track')} {m.get('version')} {v or 0:.1f}" for m, v in found) or "none"

    def _first_breach(self, version: str, start: datetime, end: datetime) -> tuple[datetime, float, float] | None:
        """When Prometheus first saw the canary's p95 over its ceiling: (time, p95 ms, ceiling ms)."""
        policy = self.spec.policies[DEMO_POLICY]
        ceiling = thresholds_for(self.spec, policy, self.options.model).p95_latency_ms
        query = p95_latency_ms(
            Selector(self.zone, self.options.model, version, "canary"), policy.spec.analysis_interval
        )
        points = self.prom.series(query, start, end + timedelta(seconds=5), timedelta(seconds=5))
        return next(((at, v, ceiling) for at, v in points if v is not None and v > ceiling), None)

    # ------------------------------------------------------------------ the fleet

    def _spec(self) -> FleetSpec:
        load = load_desired(self.region.remote, "main")
        if load.spec is None:
            raise DemoFailed("start", f"the fleet on main does not load: {'; '.join(map(str, load.errors[:3]))}")
        if DEMO_POLICY not in load.spec.policies:
            raise DemoFailed("start", f"the fleet on main has no {DEMO_POLICY!r} canary policy")
        return load.spec

    def _zone(self) -> str:
        for zone in self.region.contexts:
            found = self.spec.zone(zone)
            if found is not None and any(a.model == self.options.model for a in found.spec.models):
                return zone
        raise DemoFailed("start", f"no zone of the running region serves {self.options.model}")

    def _assignment(self) -> ModelAssignment:
        self.spec = self._spec()
        zone = self.spec.zone(self.zone)
        found = next((a for a in zone.spec.models if a.model == self.options.model), None) if zone else None
        if found is None:
            raise DemoFailed("start", f"{self.zone} does not serve {self.options.model} on main")
        return found


def _settled(state: str | None) -> str | None:
    return None if state in (None, "pending") else state


def _stream_names(zone: str, model: str) -> dict[str, str]:
    return {
        "input": naming.input_stream(zone, model),
        "results": naming.result_stream(zone),
        "dead": naming.dead_letter_stream(zone),
    }


def _git(cwd: Path, *args: str) -> str:
    cwd.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["git", *_AUTHOR, *args], cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise DemoFailed("pull request", f"git {' '.join(args)}: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


def _zone_file(work: Path, zone: str) -> Path:
    found = [p for p in (work / "zones").rglob("*.yaml") if p.stem == zone]
    if len(found) != 1:
        raise DemoFailed("pull request", f"zones/ holds {len(found)} files named {zone}.yaml, not one")
    return found[0]


def _add_canary(path: Path, model: str, version: str, weight: int, started: str) -> None:
    """Add a live canary block to `model`'s assignment in the zone file, in the file's own formatting."""
    text = path.read_text(encoding="utf-8")
    yaml = round_trip_yaml(text)
    doc = yaml.load(text)
    assignment = next(a for a in doc["spec"]["models"] if a["model"] == model)
    assignment["canary"] = CommentedMap(
        version=version, weight=weight, policy=DEMO_POLICY, phase="live", startedAt=DoubleQuotedScalarString(started)
    )
    with path.open("w", encoding="utf-8") as out:
        yaml.dump(doc, out)
