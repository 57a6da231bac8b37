"""The caller's own conversations. Another user's conversation is 404, like a missing one."""

# No `from __future__ import annotations`: FastAPI reads these annotations at runtime.
import re
from dataclasses import asdict
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Path, Query

from parley.chat.edge.collaborators import Chat
from parley.errors import NotFound
from parley.http.auth import CurrentIdentity
from parley.ids import ID_PATTERN

__all__ = ["router"]

router = APIRouter(tags=["conversations"])

_CONVERSATION_ID = re.compile(ID_PATTERN)


@router.get("/v1/conversations")
async def list_conversations(
    chat: Chat,
    identity: CurrentIdentity,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> dict[str, Any]:
    """The caller's conversations, most recently active first; pass `next_cursor` back as
    `cursor` for the next page."""
    repository = chat.conversations
    conversations, next_cursor = await anyio.to_thread.run_sync(
        lambda: repository.list_for_owner(identity, limit=limit, cursor=cursor)
    )
    return {"conversations": [asdict(c) for c in conversations], "next_cursor": next_cursor}


@router.get("/v1/conversations/{conversation_id}")
async def get_conversation(
    chat: Chat,
    identity: CurrentIdentity,
    conversation_id: Annotated[str, Path(max_length=64)],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """One conversation and its messages, oldest first."""
    if not _CONVERSATION_ID.fullmatch(conversation_id):
        raise NotFound("No such conversation.")
    repository = chat.conversations
    conversation, messages = await anyio.to_thread.run_sync(
        lambda: repository.get_with_messages(identity, conversation_id, limit=limit)
    )
    return {"conversation": asdict(conversation), "messages": [asdict(m) for m in messages]}
