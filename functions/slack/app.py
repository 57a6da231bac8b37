"""Slack forwarder: the alerts topic's messages, posted to the Slack incoming webhook
(parley.operations.slack; created only when the stack's SlackWebhookUrl is set)."""

from parley.config import get_settings
from parley.operations.slack import slack_handler

handler = slack_handler(get_settings())
