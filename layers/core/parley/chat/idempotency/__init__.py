"""``Idempotency-Key`` for chat: the claim, the stored answer and the release on the hot store
(``store``), and one request's key around its run, replayed as a stream or one completion
(``keyed_chat``). The header and its errors are ``parley.http.idempotency_key``'s."""
