"""The chat's HTTP edge: ``POST /v1/chat/stream`` and ``POST /v1/chat/completions`` (``api``),
``/v1/conversations`` (``conversations_api``), their bodies (``stream_request``,
``completion_request``), the turns made from them (``intake``), the wire encodings
(``sse``: Parley's protocol; ``completion_chunks``: OpenAI's) and the response that streams
them (``event_stream``). What the routes work with is ``collaborators``."""
