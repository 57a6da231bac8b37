// A browser-style SSE reader: fetch + ReadableStream + TextDecoder, the way the playground
// and web clients read /v1/chat/stream. Prints one JSON line per event to stdout.
// Usage: node fetch_reader.mjs <base url> <token> <json body>
const [base, token, body] = process.argv.slice(2);
const response = await fetch(`${base}/v1/chat/stream`, {
  method: "POST",
  headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
  body,
});
if (!response.ok) {
  console.log(JSON.stringify({ status: response.status, body: await response.json() }));
  process.exit(0);
}
const reader = response.body.getReader();
const decoder = new TextDecoder();
let buffer = "";
for (;;) {
  const { value, done } = await reader.read();
  if (done) break;
  buffer += decoder.decode(value, { stream: true });
  let end;
  while ((end = buffer.indexOf("\n\n")) >= 0) {
    const block = buffer.slice(0, end);
    buffer = buffer.slice(end + 2);
    const lines = block.split("\n");
    const id = lines.find((line) => line.startsWith("id: "));
    const data = lines.filter((line) => line.startsWith("data: ")).map((l) => l.slice(6));
    if (data.length) console.log(JSON.stringify({ id: id && id.slice(4), ...JSON.parse(data.join("\n")) }));
  }
}
