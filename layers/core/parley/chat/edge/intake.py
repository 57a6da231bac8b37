"""From request bodies to chat turns."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from parley.chat.edge.completion_request import VIRTUAL_MODELS
from parley.chat.edge.response_format import structured
from parley.chat.images import image_part, image_reference
from parley.chat.turn import ChatTurn
from parley.routing.analysis import AttachmentInfo

if TYPE_CHECKING:
    from parley.auth.identity import Identity
    from parley.chat.edge.completion_request import ChatCompletionRequest
    from parley.chat.edge.stream_request import Attachment, ChatStreamRequest
    from parley.providers.base import ImagePart

__all__ = ["turn_from_completion", "turn_from_stream"]


def turn_from_stream(
    body: ChatStreamRequest, identity: Identity, request_id: str, started: float
) -> ChatTurn:
    metadata: dict[str, Any] = {"mode": body.mode} if body.mode else {}
    if body.panel:
        metadata["panel"] = body.panel
    if body.choices:
        metadata["choices"] = body.choices
    images = _attachment_images(body)
    if body.attachments:
        metadata["attachments"] = [
            _attachment_record(attachment, images.get(number))
            for number, attachment in enumerate(body.attachments)
        ]
    # Text attachments reach the model after the message; the stored message stays as typed.
    suffix = "".join(
        f"\n\n--- Attachment: {a.name} ---\n{a.text}" for a in body.attachments if a.text
    )
    schema, json_object = structured(body.response_format)
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
        # Images are counted as images (routing weighs them apart), not as attachments.
        attachments=tuple(
            AttachmentInfo(a.name, len(a.text or ""))
            for number, a in enumerate(body.attachments)
            if number not in images
        ),
        images=tuple(images.values()),
        response_schema=schema,
        json_object=json_object,
        cache=body.cache,
        locale=body.locale,
        metadata=metadata,
        started=started,
    )


def turn_from_completion(
    body: ChatCompletionRequest, identity: Identity, request_id: str, started: float
) -> ChatTurn:
    conversation = body.conversation()
    virtual = body.model in VIRTUAL_MODELS
    schema, json_object = structured(body.response_format)
    return ChatTurn(
        identity=identity,
        request_id=request_id,
        endpoint="completions",
        message=conversation.message,
        mode=body.model if virtual else None,  # type: ignore[arg-type]
        model=None if virtual else body.model,
        history=conversation.history,
        system=conversation.system,
        temperature=body.temperature,
        max_tokens=body.max_completion_tokens or body.max_tokens,
        images=conversation.images,
        followups=conversation.followups,
        tools=body.tool_specs,
        tool_choice=body.choice,
        parallel_tool_calls=body.parallel_tool_calls,
        response_schema=schema,
        json_object=json_object,
        cache=body.cache,
        locale=body.locale,
        started=started,
    )


def _attachment_images(body: ChatStreamRequest) -> dict[int, ImagePart]:
    """The image attachments, by their place among the attachments."""
    images: dict[int, ImagePart] = {}
    for number, attachment in enumerate(body.attachments):
        if not attachment.is_image or (attachment.url is None and attachment.data is None):
            continue
        where = f"attachments[{number}]"
        if attachment.data is not None:
            url = f"data:{attachment.content_type};base64,{attachment.data}"
        else:
            url = str(attachment.url)
        images[number] = image_part(url, where=where)
    return images


def _attachment_record(attachment: Attachment, image: ImagePart | None) -> dict[str, Any]:
    """What is stored of an attachment with the message: never an image's bytes."""
    record: dict[str, Any] = {"name": attachment.name, "content_type": attachment.content_type}
    if attachment.url:
        record["url"] = str(attachment.url)
    if image is not None:
        record["image"] = image_reference(image)
    if attachment.text:
        record["chars"] = len(attachment.text)
    return record
