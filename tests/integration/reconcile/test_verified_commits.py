"""Verified commits with the real `git` signing them (SSH keys from `ssh-keygen`, OpenPGP keys from `gpg` in a
temporary GNUPGHOME), followed by `RepoSource` and the region loop against a real zone apiserver.

Matrix: a signed commit is applied; an unsigned commit on top → nothing of it applied, the zone keeps the verified
revision, its result and `edgeops_reconcile_unverified_tip` / `edgeops_reconcile_refused_commits` say why; a signed
commit on top → applied; a commit by an untrusted key → refused; an unsigned commit turning verification off →
refused (its own setting never judges it); OpenPGP-signed commits by a trusted / an untrusted gpg key; the bot's
commits signed with its SSH key pass `git verify-commit` and the reconciler's own check; `edgeops apply` refuses
an unsigned --rev and a working tree; the reconciler's own keys (`--trusted-keys`) require signatures from the
first commit on, whatever the repository says.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reconciler.app.reconcile import CommitTrust, read_inventory, root_policy
from reconciler.app.reconcile.loop import LoopOptions, RegionLoop
from reconciler.app.reconcile.source import RepoSource
from reconciler.cli.main import app
from reconciler.core.trust import Outcome
from reconciler.shells.git import SIGNING_KEY_ENV, Workspace
from reconciler.shells.kube import ZoneClient
from tests.fixtures.fleet_repo import ModelDef, ReconcileEnv, ZoneDef, write_fleet

pytestmark = pytest.mark.integration

VERIFY = "    verify:\n      trustedKeys:\n        - path: fleet/keys/allowed_signers\n        - path: fleet/keys/release.asc\n"


def git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    base = {
        "GIT_AUTHOR_NAME": "Fleet Admin",
        "GIT_AUTHOR_EMAIL": "admin@example.com",
        "GIT_COMMITTER_NAME": "Fleet Admin",
        "GIT_COMMITTER_EMAIL": "admin@example.com",
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": str(repo.parent),
    }
    done = subprocess.run(
        ["git", *args], cwd=repo, env={**os.environ, **base, **(env or {})}, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def ssh_key(directory: Path, name: str) -> Path:
    path = directory / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(path)], check=True)
    return path


def signer_line(principal: str, key: Path) -> str:
    kind, blob, *_ = key.with_suffix(".pub").read_text().split()
    return f"{principal} {kind} {blob}\n"


def commit(repo: Path, message: str, *, ssh: Path | None = None, gpg: str | None = None, **env: str) -> str:
    git(repo, "add", "-A")
    if ssh is not None:
        git(repo, "-c", "gpg.format=ssh", "-c", f"user.signingkey={ssh}", "commit", "-q", "-S", "-m", message)
    elif gpg is not None:
        git(repo, "-c", f"user.signingkey={gpg}", "commit", "-q", "-S", "-m", message, env=env)
    else:
        git(repo, "commit", "-q", "--no-gpg-sign", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def fleet_with_verify(root: Path, zones: list[ZoneDef], *, verify: bool = True) -> None:
    write_fleet(root, "eu-west", zones)
    fleet = root / "fleet" / "fleet.yaml"
    if verify:
        fleet.write_text(fleet.read_text().replace("    branch: main\n", "    branch: main\n" + VERIFY, 1))


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, Path]:
    directory = tmp_path / "keys"
    directory.mkdir()
    return {name: ssh_key(directory, name) for name in ("release", "intruder", "bot")}


def new_repo(root: Path, keys: dict[str, Path]) -> None:
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    (root / "fleet" / "keys").mkdir(parents=True)
    signers = signer_line("release@example.com", keys["release"]) + signer_line("bot@example.com", keys["bot"])
    (root / "fleet" / "keys" / "allowed_signers").write_text(signers)
    (root / "fleet" / "keys" / "release.asc").write_text("")  # OpenPGP keys: none trusted unless a test adds some


async def test_the_loop_applies_only_verified_commits(reconcile_env: ReconcileEnv, keys: dict[str, Path]) -> None:
    root = reconcile_env.root
    new_repo(root, keys)
    zone = f"a-{reconcile_env.suffix}"
    fleet_with_verify(root, [ZoneDef(zone, "zone-a")])
    first = commit(root, "fleet: verified from here on", ssh=keys["release"])
    source = RepoSource(str(root), root.parent / "clone.git")
    loop = RegionLoop(source.fetch, LoopOptions(region="eu-west", region_options=reconcile_env.options()))
    client = ZoneClient.connect(zone, "zone-a", reconcile_env.kubeconfig)

    def applied() -> str | None:
        return read_inventory(client, reconcile_env.namespace).revision

    def metric(name: str, **labels: str) -> float | None:
        return loop.metrics.registry.get_sample_value(name, {"region": "eu-west", **labels})

    (result,) = await loop.run_pass()
    assert (result.revision, applied(), result.message) == (first, first, "")
    assert metric("edgeops_reconcile_unverified_tip") == 0

    fleet_with_verify(root, [ZoneDef(zone, "zone-a", (ModelDef("fraud-scoring"),))])
    unsigned = commit(root, "zones: an unsigned change")
    (result,) = await loop.run_pass()
    assert result.revision == first
    assert applied() == first
    assert f"branch tip {unsigned[:12]} is not signed by a trusted key (not signed)" in result.message
    assert f"applying verified {first[:12]}" in result.message
    assert loop.results[zone].message == result.message
    assert metric("edgeops_reconcile_unverified_tip") == 1
    assert metric("edgeops_reconcile_refused_commits_total", reason=Outcome.UNSIGNED.value) == 1
    await loop.run_pass()  # the same refused tip is counted once
    assert metric("edgeops_reconcile_refused_commits_total", reason=Outcome.UNSIGNED.value) == 1

    (root / "README.md").write_text("reviewed: the change above is fine\n")
    signed = commit(root, "zones: a signed change", ssh=keys["release"])
    (result,) = await loop.run_pass()
    assert (result.revision, applied(), result.message) == (signed, signed, "")
    assert metric("edgeops_reconcile_unverified_tip") == 0

    (root / "README.md").write_text("an intruder was here\n")
    intruder = commit(root, "docs: by someone else", ssh=keys["intruder"])
    (result,) = await loop.run_pass()
    assert (result.revision, applied()) == (signed, signed)
    assert f"branch tip {intruder[:12]} is not signed by a trusted key (signed with SSH key" in result.message
    assert metric("edgeops_reconcile_refused_commits_total", reason=Outcome.UNTRUSTED_KEY.value) == 1

    # Turning verification off takes a verified commit: an unsigned one doing it is judged by the policy before it.
    fleet_with_verify(root, [ZoneDef(zone, "zone-a", (ModelDef("fraud-scoring"),))], verify=False)
    commit(root, "fleet: verification off, unsigned")
    fetched = source.fetch()
    assert fetched.revision == signed
    assert fetched.refusal is not None
    assert fetched.refusal.reason is Outcome.UNSIGNED

    # A fresh reconciler (a restart) walks the branch and reaches the same answer.
    again = RepoSource(str(root), root.parent / "clone-2.git").fetch()
    assert again.revision == signed
    client.close()


@pytest.fixture
def gnupg_home(tmp_path: Path) -> Iterator[Path]:
    """A GNUPGHOME of the test's own; the gpg-agent that gpg starts there is stopped afterwards."""
    if shutil.which("gpg") is None:
        pytest.fail("gpg is not installed (tests/env/apt-packages.txt lists gnupg)")
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    yield home
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], check=False, capture_output=True)


def test_openpgp_signed_commits_by_trusted_and_untrusted_gpg_keys(
    tmp_path: Path, keys: dict[str, Path], gnupg_home: Path
) -> None:
    env = {"GNUPGHOME": str(gnupg_home)}
    for uid, algorithm in (("Release <release@example.com>", "ed25519"), ("Other <other@example.com>", "rsa2048")):
        subprocess.run(
            ["gpg", "--batch", "--passphrase", "", "--quick-gen-key", uid, algorithm, "sign", "never"],
            env={**os.environ, **env},
            check=True,
            capture_output=True,
        )
    exported = subprocess.run(
        ["gpg", "--armor", "--export", "release@example.com"],
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    ).stdout
    root = tmp_path / "fleet"
    new_repo(root, keys)
    (root / "fleet" / "keys" / "release.asc").write_bytes(exported)
    fleet_with_verify(root, [ZoneDef("za", "zone-a")])
    first = commit(root, "fleet: verified", gpg="release@example.com", **env)
    source = RepoSource(str(root), tmp_path / "clone.git")
    assert source.fetch().refusal is None

    fleet_with_verify(root, [ZoneDef("za", "zone-a", (ModelDef("fraud-scoring"),))])
    second = commit(root, "zones: signed with the trusted OpenPGP key", gpg="release@example.com", **env)
    fetched = source.fetch()
    assert (fetched.revision, fetched.refusal) == (second, None)

    (root / "README.md").write_text("other\n")
    other = commit(root, "docs: signed with another OpenPGP key", gpg="other@example.com", **env)
    fetched = source.fetch()
    assert fetched.revision == second
    assert fetched.refusal is not None
    assert (fetched.refusal.tip, fetched.refusal.reason) == (other, Outcome.UNTRUSTED_KEY)
    assert first != second


def test_the_bots_commits_are_signed_and_pass_git_verify_commit(
    tmp_path: Path, keys: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "fleet"
    new_repo(root, keys)
    fleet_with_verify(root, [ZoneDef("za", "zone-a")])
    base = commit(root, "fleet: verified", ssh=keys["release"])
    monkeypatch.setenv(SIGNING_KEY_ENV, str(keys["bot"]))
    bot = Workspace.open_or_clone(str(root), tmp_path / "bot.git")
    zone_file = "zones/eu-west/za.yaml"
    text = (root / zone_file).read_text().replace("replicas: 0", "replicas: 1")
    sha = bot.commit_on_branch("edgeops/canary/test", base, {zone_file: text}, "zones: za scaled")

    signers = tmp_path / "keys" / "allowed_signers"
    signers.write_text(signer_line("bot@example.com", keys["bot"]))
    out = subprocess.run(
        [
            "git",
            "--git-dir",
            str(tmp_path / "bot.git"),
            "-c",
            f"gpg.ssh.allowedSignersFile={signers}",
            "verify-commit",
            sha,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert 'Good "git" signature for bot@example.com' in out.stderr

    # Merged (fast-forward) into the branch the reconciler follows, it is applied as a verified commit.
    git(root, "fetch", "-q", str(tmp_path / "bot.git"), "edgeops/canary/test")
    git(root, "merge", "-q", "--ff-only", "FETCH_HEAD")
    fetched = RepoSource(str(root), tmp_path / "clone.git").fetch()
    assert (fetched.revision, fetched.refusal) == (sha, None)

    # Without a key the bot's commits are unsigned, and refused.
    monkeypatch.delenv(SIGNING_KEY_ENV)
    unsigned = bot.commit_on_branch("edgeops/canary/next", sha, {zone_file: text + "# next\n"}, "next")
    assert bot.signed_commit(unsigned).signature is None


def test_apply_refuses_an_unsigned_revision_and_a_working_tree(tmp_path: Path, keys: dict[str, Path]) -> None:
    root = tmp_path / "fleet"
    new_repo(root, keys)
    fleet_with_verify(root, [ZoneDef("za", "zone-a")])
    commit(root, "fleet: verified", ssh=keys["release"])
    fleet_with_verify(root, [ZoneDef("za", "zone-a", (ModelDef("fraud-scoring"),))])
    unsigned = commit(root, "zones: unsigned")
    runner = CliRunner()
    common = ["apply", "--region", "eu-west", "--repo", str(root), "--kubeconfig", str(tmp_path / "none")]

    refused = runner.invoke(app, [*common, "--rev", unsigned])
    assert refused.exit_code == 1
    assert (
        f"revision {unsigned[:12]} is not signed by a trusted key (not signed); nothing was applied" in refused.output
    )

    working_tree = runner.invoke(app, common)
    assert working_tree.exit_code == 1
    assert "a working tree carries no signature" in working_tree.output


def test_the_reconcilers_own_trusted_keys_require_signatures_from_the_first_commit(
    tmp_path: Path, keys: dict[str, Path]
) -> None:
    root = tmp_path / "fleet"
    new_repo(root, keys)
    fleet_with_verify(root, [ZoneDef("za", "zone-a")], verify=False)
    unsigned = commit(root, "fleet: the repository asks for nothing")
    pinned = tmp_path / "keys" / "pinned_signers"
    pinned.write_text(signer_line("release@example.com", keys["release"]))
    source = RepoSource(str(root), tmp_path / "clone.git", trust=CommitTrust(root_policy((pinned,))))

    nothing = source.fetch()
    assert (nothing.revision, nothing.load) == (None, None)
    assert (
        nothing.error
        == f"branch tip {unsigned[:12]} is not signed by a trusted key (not signed); no verified commit to apply"
    )

    (root / "README.md").write_text("signed\n")
    signed = commit(root, "docs: signed by the pinned key", ssh=keys["release"])
    fetched = source.fetch()
    assert (fetched.revision, fetched.refusal) == (signed, None)
    assert fetched.load is not None
    assert fetched.load.spec is not None
