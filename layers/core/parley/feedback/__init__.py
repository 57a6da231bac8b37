"""Feedback on answers, implicit signals, human corrections and the training-data export.

Modules: ``schemas`` (request bodies), ``satisfaction`` (the implicit score), ``keys`` (the
FeedbackTable's layout), ``days`` (date ranges), ``cursors`` (paging over days),
``repository`` (feedback records), ``idempotency`` (Powertools around a submission),
``analytics`` (rates by period), ``corrections`` (their repository), ``formats`` and
``export`` (fine-tuning files), ``state`` (what the routers read), the routers ``api``,
``corrections_api`` and ``training_api``, and ``app`` (the function's app).
"""
