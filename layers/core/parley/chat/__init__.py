"""Chat: one answer per request, streamed, whichever endpoint it came through.

The service (this package): ``ChatService`` (``pipeline``) runs a ``ChatTurn`` (``turn``) that
``preparation`` has checked and routed, relaying the failover engine's stream as ``events``,
storing the exchange (``memory``), recording each provider call (``usage_records``, from
``outcome``) and charging it (``billing``); ``response_cache`` answers deterministic requests
again and ``idempotency`` answers a retried Idempotency-Key again, both re-streamed in pieces
(``restream``); ``rate_rules`` are the limits a request counts against.

The HTTP edge (``parley.chat.edge``): the request bodies of both endpoints, the turns made from
them, the wire encodings (Parley's SSE protocol, OpenAI's chunks), the streaming response and
the routes.
"""

from parley.chat.events import ChatEvent, ClientGone, Done, Failed, Meta, Switched, Token
from parley.chat.pipeline import ChatService
from parley.chat.turn import ChatTurn, Emit, PreparedChat

__all__ = [
    "ChatEvent",
    "ChatService",
    "ChatTurn",
    "ClientGone",
    "Done",
    "Emit",
    "Failed",
    "Meta",
    "PreparedChat",
    "Switched",
    "Token",
]
