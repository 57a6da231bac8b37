"""Images as clients send them (OpenAI's ``image_url`` parts, the native stream's image
attachments), read into ``ImagePart``s and held to the limits before any provider call.

A ``data:`` URL is checked whole: its media type must be one Parley sends on (PNG, JPEG, GIF,
WebP: what every vision model of the three providers takes), its base64 must decode, and the
image must fit ``max_image_bytes`` (413). An ``https`` URL is passed on for the provider to
fetch, never fetched here (a gateway that fetched client URLs would be an open proxy into its
own network); its media type is what its name says, JPEG when it says nothing.
"""

from __future__ import annotations

import binascii
import hashlib
import mimetypes
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from parley.errors import PayloadTooLarge, ValidationFailed
from parley.providers.base import ImagePart

if TYPE_CHECKING:
    from collections.abc import Sequence

    from parley.providers.base import ImageDetail

__all__ = ["IMAGE_TYPES", "check_image_limits", "image_part", "image_reference", "image_size"]

IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
_DATA_URL = re.compile(r"^data:(?P<type>[\w.+-]+/[\w.+-]+)(?:;[\w.+-]+=[\w.+-]+)*;base64,", re.I)
# For a URL that names no type; the providers sniff the bytes anyway.
_DEFAULT_URL_TYPE = "image/jpeg"


def image_part(url: str, detail: ImageDetail = "auto", *, where: str = "image_url") -> ImagePart:
    """The image at ``url`` (``https:`` or ``data:``), or ValidationFailed (422) saying why
    it cannot be sent."""
    if url[:5].lower() == "data:":
        return _inline(url, detail, where)
    parts = urlsplit(url)
    if parts.scheme.lower() != "https" or not parts.netloc:
        raise ValidationFailed(
            f"{where}: an image is an https URL or a data: URL (base64)", code="invalid_image"
        )
    guessed, _ = mimetypes.guess_type(parts.path)
    if guessed is not None and guessed.startswith("image/") and guessed not in IMAGE_TYPES:
        raise _unsupported(guessed, where)
    media_type = guessed if guessed in IMAGE_TYPES else _DEFAULT_URL_TYPE
    return ImagePart(media_type=media_type, url=url, detail=detail)


def _inline(url: str, detail: ImageDetail, where: str) -> ImagePart:
    header = _DATA_URL.match(url)
    if header is None:
        raise ValidationFailed(
            f"{where}: a data: URL must be data:<image type>;base64,<data>", code="invalid_image"
        )
    media_type = header["type"].lower()
    if media_type not in IMAGE_TYPES:
        raise _unsupported(media_type, where)
    data = url[header.end() :]
    try:
        # Strict: a provider refuses what is not base64 with an unhelpful 400, after the call
        # was paid for; refuse it here, with where it is.
        binascii.a2b_base64(data, strict_mode=True)
    except binascii.Error:
        raise ValidationFailed(
            f"{where}: the image's data is not valid base64", code="invalid_image"
        ) from None
    return ImagePart(media_type=media_type, data=data, detail=detail)


def _unsupported(media_type: str, where: str) -> ValidationFailed:
    return ValidationFailed(
        f"{where}: images of type {media_type} are not supported; send one of "
        f"{', '.join(IMAGE_TYPES)}",
        code="unsupported_image_type",
        details={"allowed": list(IMAGE_TYPES)},
    )


def image_size(image: ImagePart) -> int | None:
    """Decoded bytes of an inline image; None for one known by URL."""
    if image.data is None:
        return None
    padding = len(image.data) - len(image.data.rstrip("="))
    return len(image.data) * 3 // 4 - padding


def check_image_limits(images: Sequence[ImagePart], *, max_images: int, max_bytes: int) -> None:
    """At most ``max_images`` (422), none larger than ``max_bytes`` decoded (413)."""
    if len(images) > max_images:
        raise ValidationFailed(
            f"at most {max_images} images in one request; this one has {len(images)}",
            code="too_many_images",
        )
    for number, image in enumerate(images, start=1):
        size = image_size(image)
        if size is not None and size > max_bytes:
            raise PayloadTooLarge(
                f"image {number} is {size} bytes; the largest accepted is {max_bytes}",
                code="image_too_large",
            )


def image_reference(image: ImagePart) -> dict[str, Any]:
    """What is stored of an image with its message: where it was, or for inline bytes their
    type, size and SHA-256 (the bytes themselves are never stored)."""
    if image.url is not None:
        return {"media_type": image.media_type, "url": image.url, "detail": image.detail}
    assert image.data is not None
    return {
        "media_type": image.media_type,
        "bytes": image_size(image),
        "sha256": hashlib.sha256(image.data.encode("ascii")).hexdigest(),
        "detail": image.detail,
    }
