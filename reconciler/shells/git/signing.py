"""Commit signatures in the git shell: reading a commit's signature and signed payload, and signing the bot's own
commits with an SSH key (the SSHSIG format git writes with `gpg.format=ssh`, so `git verify-commit` accepts them).

The bot's key is given by reference: `EDGEOPS_GIT_SIGNING_KEY` holds the path of an unencrypted OpenSSH private
key file, or the key itself (text starting with `-----BEGIN OPENSSH PRIVATE KEY-----`, e.g. from a Secret).
Unset: the bot's commits are unsigned.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pygit2
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from reconciler.core.trust import sshsig
from reconciler.shells.git.errors import GitError, GitRefError

SIGNING_KEY_ENV = "EDGEOPS_GIT_SIGNING_KEY"


@dataclass(frozen=True)
class SignedCommit:
    sha: str
    payload: bytes  # the commit object without its signature header: what the signature covers
    signature: bytes | None  # None: unsigned
    parent: str | None  # the first parent


def signed_commit(repo: pygit2.Repository, sha: str) -> SignedCommit:
    try:
        commit = repo.revparse_single(sha).peel(pygit2.Commit)
    except (KeyError, ValueError, pygit2.GitError) as error:
        raise GitRefError(f"no commit {sha} in {repo.path}") from error
    signature, payload = commit.gpg_signature
    if not signature:
        payload = commit.read_raw()
    parent = str(commit.parent_ids[0]) if commit.parent_ids else None
    return SignedCommit(sha, payload or b"", signature or None, parent)


def load_signing_key(env: str = SIGNING_KEY_ENV) -> sshsig.SigningKey | None:
    """The key named by `env` (a path, or the key itself); None when unset. Raises `GitError` naming the variable
    when it is set but unusable."""
    value = os.environ.get(env, "").strip()
    if not value:
        return None
    try:
        data = value.encode() if value.startswith("-----BEGIN") else Path(value).read_bytes()
    except OSError as error:
        raise GitError(f"${env}: cannot read the signing key file {value}: {error.strerror}") from error
    try:
        key = serialization.load_ssh_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        raise GitError(f"${env}: not an unencrypted OpenSSH private key: {error}") from error
    if not isinstance(key, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise GitError(f"${env}: only Ed25519, ECDSA and RSA keys can sign commits")
    return key


def create_commit(
    repo: pygit2.Repository,
    author: pygit2.Signature,
    message: str,
    tree: pygit2.Oid,
    parents: list[pygit2.Oid],
    *,
    key: sshsig.SigningKey | None,
) -> pygit2.Oid:
    """A commit object (no ref moved), signed with `key` when one is given."""
    if key is None:
        return repo.create_commit(None, author, author, message, tree, parents)
    # pygit2 returns the commit's text here (its stub says Oid).
    content = str(repo.create_commit_string(author, author, message, tree, list[pygit2.Oid | str](parents)))
    signature = sshsig.sign(content.encode("utf-8"), key)
    return repo.create_commit_with_signature(content, signature.decode("ascii"))
