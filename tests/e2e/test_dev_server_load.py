"""`parley dev` under load, as a user runs it: 64 chat streams at once against its embedded
DynamoDB, after a long session has filled the conversations table."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import httpx

from tests.support.asgi import bearer
from tests.support.chat import Streamed, stream_chat
from tests.support.devserver import DevServer
from tests.support.localdb import dynamodb_at, fill

if TYPE_CHECKING:
    from pathlib import Path

STREAMS = 64
# Items already in the table: moto as it ships copies the whole table for each item of each
# transaction, and the longer that copy the wider the window in which a concurrent request
# changes the table under it (a crash) or a cancelled transaction's copy undoes another's write.
HISTORY = 1000


async def chat_at_once(url: str) -> list[Streamed]:
    # One user each: the default limit of 20 chats a minute a user stays out of the way.
    return await asyncio.gather(
        *(
            stream_chat(url, {"message": f"Question {n}: what is Parley?"}, user=f"load-{n}")
            for n in range(STREAMS)
        )
    )


def test_64_streams_at_once_all_finish_and_every_conversation_holds_both_messages(
    tmp_path: Path,
) -> None:
    server = DevServer(tmp_path / "parley-dev.log", PARLEY_LOCAL_TOKEN_DELAY_SECONDS="0.001")
    try:
        assert "in-process moto server" in server.banner
        fill(dynamodb_at(server.dynamodb_endpoint, retries=True), "parley-conversations", HISTORY)

        streams = asyncio.run(chat_at_once(server.url))

        ends = [(stream.status, stream.types[-1:]) for stream in streams]
        assert ends == [(200, ["done"])] * STREAMS
        assert not [stream for stream in streams if stream.of("error")]
        for n, stream in enumerate(streams):
            conversation = stream.of("meta")[0]["conversation_id"]
            response = httpx.get(
                f"{server.url}/v1/conversations/{conversation}", headers=bearer(f"load-{n}")
            )
            assert response.status_code == 200
            messages = response.json()["messages"]
            assert [(m["role"], m["status"]) for m in messages] == [
                ("user", "complete"),
                ("assistant", "complete"),
            ]
            assert messages[0]["content"] == f"Question {n}: what is Parley?"
            assert messages[1]["content"] == stream.text
        # The SDK retries a 500 three times, so a crash of moto's can pass unseen by the
        # streams; werkzeug logs every request it failed.
        assert "Error on request" not in server.errors, server.errors[-3000:]
    finally:
        assert server.stop() == 0
