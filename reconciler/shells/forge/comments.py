"""The bot's comments that are edited in place: one logical comment per PR and purpose (found by its hidden
marker), split into numbered parts when it would exceed GitHub's 65,536-character limit."""

from __future__ import annotations

from reconciler.core.bot import marker, part_marker, with_parts
from reconciler.shells.forge.client import Forge

UNUSED = "_(This part is no longer needed.)_"


def upsert(forge: Forge, number: int, name: str, body: str) -> tuple[int, ...]:
    """Create or edit the bot's `name` comment on PR `number`; returns the comment ids, in order."""
    me = forge.me()
    mine = [c for c in forge.comments(number) if c.author == me]
    single = marker(name)
    existing: list[int] = []
    for index in range(1, 1 + len(mine) + 1):
        tag = single if index == 1 else None
        found = next(
            (c for c in mine if c.body.startswith(part_marker(name, index)) or (tag and c.body.startswith(tag))),
            None,
        )
        if found is None:
            break
        existing.append(found.id)
    bodies = with_parts(name, body)
    ids = []
    for index, text in enumerate(bodies):
        if index < len(existing):
            forge.edit_comment(existing[index], text)
            ids.append(existing[index])
        else:
            ids.append(forge.comment(number, text))
    for index, stale in enumerate(existing[len(bodies) :], start=len(bodies) + 1):
        forge.edit_comment(stale, f"{part_marker(name, index)}\n{UNUSED}")
    return tuple(ids)
