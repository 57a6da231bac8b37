"""`parley dev` as a user runs it: a real process serving the API on loopback."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.conftest import REPO
from tests.support.devserver import DevServer, clean_env, parley, running_dev_server

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(scope="module")
def dev_server() -> Iterator[DevServer]:
    yield from running_dev_server()


def test_the_banner_names_the_emulated_database_and_hot_state(dev_server: DevServer) -> None:
    assert "in-process moto server" in dev_server.banner
    assert re.search(r"hot state\s+memory", dev_server.banner)


def test_healthz_answers(dev_server: DevServer) -> None:
    response = httpx.get(f"{dev_server.url}/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_me_without_a_token_is_401(dev_server: DevServer) -> None:
    response = httpx.get(f"{dev_server.url}/v1/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_me_with_the_printed_token_is_the_development_identity(dev_server: DevServer) -> None:
    response = httpx.get(
        f"{dev_server.url}/v1/me", headers={"Authorization": f"Bearer {dev_server.token}"}
    )
    assert response.status_code == 200
    assert response.json() == {
        "user_id": "dev-user",
        "org_id": "default",
        "scopes": ["analytics:view", "users:manage"],
    }


def test_parley_token_mints_tokens_the_server_accepts(dev_server: DevServer) -> None:
    minted = subprocess.run(
        parley("token", "--user", "u-42", "--org", "acme", "--scope", "analytics:view"),
        cwd=REPO,
        env=clean_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    response = httpx.get(f"{dev_server.url}/v1/me", headers={"Authorization": f"Bearer {minted}"})
    assert response.json() == {"user_id": "u-42", "org_id": "acme", "scopes": ["analytics:view"]}


def test_parley_token_requires_a_user() -> None:
    result = subprocess.run(
        parley("token"), capture_output=True, text=True, env=clean_env(), check=False
    )
    assert result.returncode == 2
    assert "--user" in result.stderr


def test_the_emulated_database_has_the_templates_tables(dev_server: DevServer) -> None:
    client = dev_server.dynamodb()
    tables = client.list_tables()["TableNames"]
    assert {"parley-conversations", "parley-hot"} <= set(tables)
    ttl = client.describe_time_to_live(TableName="parley-hot")["TimeToLiveDescription"]
    assert ttl["TimeToLiveStatus"] == "ENABLED"


def test_the_official_openai_client_streams_a_completion(dev_server: DevServer) -> None:
    import openai

    client = openai.OpenAI(api_key=dev_server.token, base_url=f"{dev_server.url}/v1", max_retries=0)
    stream = client.chat.completions.create(
        model="auto",
        messages=[{"role": "user", "content": "Does streaming work?"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text, usage = [], None
    for chunk in stream:
        text += [choice.delta.content or "" for choice in chunk.choices]
        usage = chunk.usage or usage
    assert "Does streaming work?" in "".join(text)  # the offline model quotes the question
    assert usage is not None
    assert usage.completion_tokens > 0
    client.close()


def test_a_fetch_reader_sees_meta_tokens_done_and_the_conversation_holds_both_messages(
    dev_server: DevServer,
) -> None:
    import json
    import shutil

    node = shutil.which("node")
    assert node, "Node.js is needed for the fetch-based reader; `make test` installs it"
    body = json.dumps({"message": "What is Parley?"})
    result = subprocess.run(
        [
            node,
            str(Path(__file__).with_name("fetch_reader.mjs")),
            dev_server.url,
            dev_server.token,
            body,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    events = [json.loads(line) for line in result.stdout.splitlines()]
    types = [event["type"] for event in events]
    assert types[0] == "meta"
    assert types[-1] == "done"
    assert set(types[1:-1]) == {"token"}
    assert [int(event["id"]) for event in events] == list(range(1, len(events) + 1))
    done = events[-1]
    assert done["usage"]["output_tokens"] > 0
    assert done["cost_usd"] == 0.0  # the offline model is free
    assert "latency_ms" in done
    conversation_id = events[0]["conversation_id"]
    response = httpx.get(
        f"{dev_server.url}/v1/conversations/{conversation_id}",
        headers={"Authorization": f"Bearer {dev_server.token}"},
    )
    messages = response.json()["messages"]
    assert [(m["role"], m["status"]) for m in messages] == [
        ("user", "complete"),
        ("assistant", "complete"),
    ]
    assert messages[0]["content"] == "What is Parley?"
    assert messages[1]["content"] == "".join(e["text"] for e in events if e["type"] == "token")


def test_the_playground_page_is_served_with_the_token(dev_server: DevServer) -> None:
    page = httpx.get(f"{dev_server.url}/")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    assert dev_server.token in page.text
    assert "textContent" in page.text
    assert "innerHTML" not in page.text


def test_the_playground_script_is_valid_javascript(dev_server: DevServer, tmp_path: Path) -> None:
    import shutil

    node = shutil.which("node")
    assert node, "Node.js checks the page's script; `make test` installs it"
    page = httpx.get(f"{dev_server.url}/").text
    script = page.split("<script>", 1)[1].split("</script>", 1)[0]
    assert "/v1/feedback" in script  # it rates replies
    assert "smart_defaults" in script  # and shows the smart defaults of meta
    source = tmp_path / "playground.js"
    source.write_text(script, encoding="utf-8")
    checked = subprocess.run(
        [node, "--check", str(source)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stderr
