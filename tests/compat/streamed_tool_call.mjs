// One streamed tool call through the official openai Node.js client (the version
// package-lock.json pins), as a Node app would make it against Parley's
// /v1/chat/completions: the tool-call deltas accumulated by index.
//
//   node tests/compat/streamed_tool_call.mjs <base URL> <token> <model>
//   (or PARLEY_BASE_URL, PARLEY_TOKEN, PARLEY_MODEL)
//
// Prints one JSON line: {"name", "arguments", "finish_reason", "calls", "sdk"}; exits 1 with
// the error on stderr when the call fails.
import { readFileSync } from "node:fs";
import OpenAI from "openai";

const [baseURL, apiKey, model] = [
  process.argv[2] ?? process.env.PARLEY_BASE_URL,
  process.argv[3] ?? process.env.PARLEY_TOKEN,
  process.argv[4] ?? process.env.PARLEY_MODEL,
];
if (!baseURL || !apiKey || !model) {
  console.error("usage: streamed_tool_call.mjs <base URL> <token> <model>");
  process.exit(2);
}

const sdk = JSON.parse(
  readFileSync(new URL("./node_modules/openai/package.json", import.meta.url), "utf8"),
).version;
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 30_000 });

const tools = [
  {
    type: "function",
    function: {
      name: "get_weather",
      description: "The weather in a city now.",
      parameters: {
        type: "object",
        properties: { city: { type: "string" } },
        required: ["city"],
      },
    },
  },
];

try {
  const stream = await client.chat.completions.create({
    model,
    messages: [{ role: "user", content: "What is the weather in Paris? (node client)" }],
    tools,
    stream: true,
  });
  const calls = [];
  let finishReason = null;
  for await (const chunk of stream) {
    for (const choice of chunk.choices) {
      for (const delta of choice.delta.tool_calls ?? []) {
        const call = (calls[delta.index] ??= { id: "", name: "", arguments: "" });
        call.id += delta.id ?? "";
        call.name += delta.function?.name ?? "";
        call.arguments += delta.function?.arguments ?? "";
      }
      finishReason = choice.finish_reason ?? finishReason;
    }
  }
  const first = calls[0] ?? { name: null, arguments: null };
  console.log(
    JSON.stringify({
      name: first.name,
      arguments: first.arguments,
      finish_reason: finishReason,
      calls: calls.length,
      sdk,
    }),
  );
} catch (error) {
  console.error(String(error?.stack ?? error));
  process.exit(1);
}
