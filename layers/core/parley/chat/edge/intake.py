"""From request bodies to chat turns."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from parley.chat.edge.completion_request import VIRTUAL_MODELS
from parley.chat.turn import ChatTurn
from parley.routing.analysis import AttachmentInfo

if TYPE_CHECKING:
    from parley.auth.identity import Identity
    from parley.chat.edge.completion_request import ChatCompletionRequest
    from parley.chat.edge.stream_request import ChatStreamRequest

__all__ = ["turn_from_completion", "turn_from_stream"]


def turn_from_stream(
    body: ChatStreamRequest, identity: Identity, request_id: str, started: float
) -> ChatTurn:
    metadata: dict[str, Any] = {"mode": body.mode} if body.mode else {}
    if body.panel:
        metadata["panel"] = body.panel
    if body.choices:
        metadata["choices"] = body.choices
    if body.attachments:
        metadata["attachments"] = [
            {
                "name": a.name,
                "content_type": a.content_type,
                **({"url": str(a.url)} if a.url else {}),
                **({"chars": len(a.text)} if a.text else {}),
            }
            for a in body.attachments
        ]
    # Text attachments reach the model after the message; the stored message stays as typed.
    suffix = "".join(
        f"\n\n--- Attachment: {a.name} ---\n{a.text}" for a in body.attachments if a.text
    )
    return ChatTurn(
        identity=identity,
        request_id=request_id,
        endpoint="stream",
        message=body.message,
        mode=body.mode,
        model=body.model,
        conversation_id=body.conversation_id,
        temperature=body.temperature,
        max_tokens=body.max_tokens,
        prompt_suffix=suffix,
        attachments=tuple(AttachmentInfo(a.name, len(a.text or "")) for a in body.attachments),
        cache=body.cache,
        locale=body.locale,
        metadata=metadata,
        started=started,
    )


def turn_from_completion(
    body: ChatCompletionRequest, identity: Identity, request_id: str, started: float
) -> ChatTurn:
    system, history, message = body.conversation()
    virtual = body.model in VIRTUAL_MODELS
    return ChatTurn(
        identity=identity,
        request_id=request_id,
        endpoint="completions",
        message=message,
        mode=body.model if virtual else None,  # type: ignore[arg-type]
        model=None if virtual else body.model,
        history=history,
        system=system,
        temperature=body.temperature,
        max_tokens=body.max_completion_tokens or body.max_tokens,
        tools=bool(body.tools or body.functions),
        cache=body.cache,
        locale=body.locale,
        started=started,
    )
