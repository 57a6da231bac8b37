"""Chat function: the ASGI app that uvicorn serves under the Lambda Web Adapter (run.sh)."""

from parley.apps.chat import create_chat_app

app = create_chat_app()
