"""Which commit of the branch the region loop (and `edgeops apply --rev`) may apply, when the fleet asks for signed
commits (`spec.git.verify`), or the reconciler is started with trusted keys of its own (`root`).

A commit is judged by the policy in force at its newest accepted first-parent ancestor — never by the one it
brings itself — walking the branch from its first commit once (≈ 0.12 ms a commit) and remembering every judged
commit, so each new tip costs one step:

    accepted(C)  ⇔  the policy in force before C does not require signatures, or C is signed by one of its keys
    in force after C  =  C's own policy ∪ root, when C is accepted and its fleet.yaml loads; else unchanged

A refused tip is not applied: the newest accepted commit is (`TrustDecision.apply`), and `note` says why.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path

from reconciler.core.spec import CommitVerification, TrustedKeyRef
from reconciler.core.trust import (
    FLEET_FILE,
    NOT_REQUIRED,
    ChainState,
    Outcome,
    SettingUnreadable,
    TrustPolicy,
    Verification,
    judge,
    parse_key_file,
    trust_policy,
    verification_setting,
)
from reconciler.shells.git import SignedCommit, Workspace

log = logging.getLogger("edgeops.reconcile")


@dataclass(frozen=True)
class TrustDecision:
    tip: str
    verification: Verification  # the tip's
    apply: str | None  # the tip when accepted, else the newest accepted ancestor (None: there is none)
    problems: tuple[str, ...] = ()  # key files of the policy in force that could not be read

    @property
    def accepted(self) -> bool:
        return self.verification.accepted

    @property
    def reason(self) -> Outcome:
        return self.verification.outcome

    @property
    def note(self) -> str | None:
        """Why the tip is not applied, and what is instead; None when it is."""
        if self.accepted:
            return None
        why = f"branch tip {self.tip[:12]} is not signed by a trusted key ({self.verification.detail})"
        if self.problems:
            why += f"; unreadable trusted keys: {'; '.join(self.problems)}"
        if self.apply is None:
            return f"{why}; no verified commit to apply"
        return f"{why}; applying verified {self.apply[:12]}"


def root_policy(paths: tuple[Path, ...]) -> TrustPolicy | None:
    """The reconciler's own trusted keys (files on its host, outside the repository): signatures are then required
    from the first commit on, whatever the repository says. None when no file is given."""
    if not paths:
        return None
    policy = TrustPolicy(required=True)
    for path in paths:
        try:
            parsed = parse_key_file(str(path), path.read_bytes())
        except OSError as error:
            policy = policy.union(TrustPolicy(True, (), (f"{path}: cannot be read: {error.strerror}",)))
            continue
        policy = policy.union(TrustPolicy(True, parsed.keys, parsed.problems))
    return policy


class CommitTrust:
    def __init__(self, root: TrustPolicy | None = None) -> None:
        self._root = root
        self._judged: dict[str, tuple[Verification, ChainState]] = {}  # commit → its verdict, the state after it

    def decide(self, workspace: Workspace, tip: str) -> TrustDecision:
        """Judge `tip` (and the commits before it not judged yet); raises the git shell's errors."""
        chain: list[SignedCommit] = []
        commit: str | None = tip
        while commit is not None and commit not in self._judged:
            chain.append(workspace.signed_commit(commit))
            commit = chain[-1].parent
        # No depth limit on purpose: anchoring on an unjudged commit would let enough unsigned commits in.
        state = self._judged[commit][1] if commit is not None else ChainState(self._root or NOT_REQUIRED)
        for signed in reversed(chain):
            verdict = judge(state.policy, signed.payload, signed.signature)
            state = state.advance(
                signed.sha, verdict, self._policy_at(workspace, signed.sha) if verdict.accepted else None
            )
            self._judged[signed.sha] = (verdict, state)
        verdict, state = self._judged[tip]
        # A refused tip leaves the state as it was: its problems are those of the policy that judged it.
        return TrustDecision(tip, verdict, state.accepted, state.policy.problems)

    def _policy_at(self, workspace: Workspace, sha: str) -> TrustPolicy | None:
        """The policy commit `sha` asks for (with the root's keys), or None when its fleet.yaml does not load."""
        try:
            setting = _setting(workspace.read_bytes(sha, FLEET_FILE))
        except SettingUnreadable as error:
            log.warning("verification setting unreadable; the policy in force stays", extra={"error": str(error)})
            return None
        own = _policy(setting, tuple(_key_files(workspace, sha, setting).items()))
        return own if self._root is None else own.union(self._root)


# Most commits carry the same fleet.yaml and key files as their parent: each is parsed once.
@functools.lru_cache(maxsize=32)
def _setting(fleet_yaml: bytes | None) -> CommitVerification | None:
    return verification_setting(fleet_yaml)


@functools.lru_cache(maxsize=32)
def _policy(setting: CommitVerification | None, files: tuple[tuple[TrustedKeyRef, bytes | None], ...]) -> TrustPolicy:
    return trust_policy(setting, dict(files))


def _key_files(workspace: Workspace, sha: str, setting: CommitVerification | None) -> dict[TrustedKeyRef, bytes | None]:
    files: dict[TrustedKeyRef, bytes | None] = {}
    for ref in setting.trusted_keys if setting is not None else ():
        if ref.path is not None:
            files[ref] = workspace.read_bytes(sha, ref.path)
        elif ref.file is not None:
            try:
                files[ref] = Path(ref.file).read_bytes()
            except OSError:
                files[ref] = None
    return files


def verify_revision(repo: Path, rev: str, root: TrustPolicy | None = None) -> TrustDecision:
    """Judge commit `rev` of the repository at `repo` as the region loop would judge it as the branch tip (what
    `edgeops apply --rev` checks); raises the git shell's errors."""
    workspace = Workspace.open_local(repo)
    return CommitTrust(root).decide(workspace, workspace.resolve(rev))
