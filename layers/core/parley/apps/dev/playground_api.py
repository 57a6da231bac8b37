"""A one-page chat playground for ``parley dev`` at ``/``: it streams with ``fetch``, shows the
smart defaults from ``meta`` and rates each reply (``POST /v1/feedback``), and renders every
model output and stored value with ``textContent``, never as HTML."""

# No `from __future__ import annotations`: FastAPI reads these annotations at runtime.
import json
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from parley.http.collaborators import collaborator

__all__ = ["Playground", "router"]

router = APIRouter(include_in_schema=False)

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Parley playground</title>
<link rel="icon" href="data:,">
<style>
  body { font: 15px/1.5 system-ui, sans-serif; max-width: 52rem; margin: 2rem auto;
         padding: 0 1rem; }
  textarea, input, select, button { font: inherit; }
  textarea { width: 100%; min-height: 4.5rem; box-sizing: border-box; }
  #answer { white-space: pre-wrap; border: 1px solid #ccc; border-radius: 6px; padding: .75rem;
            min-height: 6rem; }
  .row { display: flex; gap: .5rem; align-items: center; margin: .5rem 0; flex-wrap: wrap; }
  .muted { color: #666; font-size: 13px; }
  #token { flex: 1; min-width: 12rem; }
</style>
</head>
<body>
<h1>Parley playground</h1>
<div class="row"><label for="token">Token</label><input id="token" autocomplete="off"></div>
<div class="row">
  <label for="model">Model</label><select id="model"></select>
  <label for="mode">Mode</label>
  <select id="mode"><option>auto</option><option>cheap</option><option>smart</option></select>
  <label><input type="checkbox" id="keep" checked> same conversation</label>
</div>
<textarea id="message" placeholder="Ask something"></textarea>
<div class="row"><button id="send">Send</button><button id="stop" disabled>Stop</button>
  <span id="status" class="muted"></span></div>
<div id="answer" aria-live="polite"></div>
<div class="row" id="rate" hidden>Helpful?
  <button id="up" aria-label="thumbs up">&#x1F44D;</button>
  <button id="down" aria-label="thumbs down">&#x1F44E;</button>
  <span id="rated" class="muted"></span></div>
<p id="meta" class="muted"></p>
<p id="defaults" class="muted"></p>
<script>
const initialToken = __TOKEN__;
const $ = (id) => document.getElementById(id);
$("token").value = initialToken;
let conversationId = null;
let replyId = null;
let controller = null;

async function loadModels() {
  const response = await fetch("/v1/models", { headers: auth() });
  if (!response.ok) { $("status").textContent = "models: " + response.status; return; }
  const body = await response.json();
  const select = $("model");
  select.replaceChildren(new Option("(by mode)", ""));
  for (const model of body.data) {
    if (model.parley.virtual) continue;
    const option = new Option(model.id + (model.parley.available ? "" : " (no key)"), model.id);
    option.disabled = !model.parley.available;
    select.append(option);
  }
}

function auth() { return { Authorization: "Bearer " + $("token").value.trim() }; }

function handle(event) {
  if (event.type === "meta") {
    conversationId = event.conversation_id;
    $("meta").textContent = event.route.provider + " / " + event.route.model + " (" +
      event.route.reason + ") · conversation " + event.conversation_id;
    showDefaults(event.smart_defaults || {});
  } else if (event.type === "guardrail") {
    // The crisis guardrail acted: the text that follows is its safe reply (or resources).
    $("meta").textContent += " · guardrail: " + event.action + " (" + event.category + ", " +
      event.stage + " stage)";
  } else if (event.type === "token") {
    $("answer").textContent += event.text;
  } else if (event.type === "provider_switched") {
    $("meta").textContent += " · " + event.from.model + " broke (" + event.reason +
      "), continued on " + event.to.model;
  } else if (event.type === "done") {
    replyId = event.message_id;
    $("rate").hidden = false;
    $("status").textContent = "done by " + event.model + (event.cached ? " (cached)" : "") +
      ": " + event.usage.input_tokens + " in, " +
      event.usage.output_tokens + " out, $" + event.cost_usd + ", first token " +
      event.ttft_ms + " ms, total " + event.latency_ms + " ms";
  } else if (event.type === "error") {
    $("status").textContent = "error: " + event.code + " " + event.message;
  }
}

// The preferences that apply to this message (GET/PUT /v1/preferences sets them).
function showDefaults(defaults) {
  const values = Object.entries(defaults.values || {});
  if (!defaults.panel || !values.length) { $("defaults").textContent = ""; return; }
  $("defaults").textContent = "Your " + defaults.panel + " defaults: " + values.map(
    ([field, v]) => field + " " + JSON.stringify(v.value) + (v.source === "learned"
      ? " (you usually choose it: " + Math.round(v.confidence * 100) + "% sure"
        + (v.messages ? ", from " + v.messages + " messages)" : ")")
      : " (" + v.source + ")")
  ).join(", ");
}

async function rate(thumbs) {
  const response = await fetch("/v1/feedback", {
    method: "POST",
    headers: { ...auth(), "Content-Type": "application/json",
               "Idempotency-Key": replyId + ":" + thumbs },
    body: JSON.stringify({ message_id: replyId, conversation_id: conversationId, thumbs }),
  });
  $("rated").textContent = response.ok ? "thanks" : "feedback: " + response.status;
}

async function send() {
  const message = $("message").value.trim();
  if (!message) return;
  const body = { message, mode: $("mode").value };
  if ($("model").value) body.model = $("model").value;
  if ($("keep").checked && conversationId) body.conversation_id = conversationId;
  $("answer").textContent = "";
  $("rate").hidden = true; $("rated").textContent = "";
  $("status").textContent = "streaming…";
  controller = new AbortController();
  $("send").disabled = true; $("stop").disabled = false;
  try {
    const response = await fetch("/v1/chat/stream", {
      method: "POST", signal: controller.signal,
      headers: { ...auth(), "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    if (!response.ok) {
      const problem = await response.json();
      $("status").textContent = response.status + " " + problem.error.message;
      return;
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf("\\n\\n")) >= 0) {
        const block = buffer.slice(0, end); buffer = buffer.slice(end + 2);
        const data = block.split("\\n").filter((l) => l.startsWith("data: "))
          .map((l) => l.slice(6)).join("\\n");
        if (data) handle(JSON.parse(data));
      }
    }
  } catch (error) {
    $("status").textContent = error.name === "AbortError" ? "stopped" : String(error);
  } finally {
    $("send").disabled = false; $("stop").disabled = true;
  }
}

$("send").addEventListener("click", send);
$("stop").addEventListener("click", () => controller && controller.abort());
$("up").addEventListener("click", () => rate(1));
$("down").addEventListener("click", () => rate(-1));
$("token").addEventListener("change", loadModels);
loadModels();
</script>
</body>
</html>
"""


@dataclass(frozen=True)
class Playground:
    """What the page is served with: the development token it fills in."""

    token: str = ""


@router.get("/", response_class=HTMLResponse)
async def playground(
    page: Annotated[Playground, collaborator(Playground)],
) -> HTMLResponse:
    # json.dumps makes the token a JS string literal; "</" is escaped so it cannot end the script.
    literal = json.dumps(page.token).replace("</", "<\\\\/")
    return HTMLResponse(_PAGE.replace("__TOKEN__", literal))
