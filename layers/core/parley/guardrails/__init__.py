"""Guardrails: what Parley checks in a user's message before a model's answer reaches them.

A two-stage crisis classifier (``prefilter`` decides in microseconds which messages a
classifier model must see; ``model_classifier`` asks it, within a time budget; ``offline``
decides when no model does), and the safe-messaging reply that replaces the answer on a crisis
verdict (``safe_reply``, with the crisis lines of ``resources``). The chat pipeline calls them
(``parley.chat``); nothing here knows about HTTP.
"""
