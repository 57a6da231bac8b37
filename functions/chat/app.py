"""Chat function: the ASGI app that uvicorn serves under the Lambda Web Adapter (run.sh)."""

from parley.http import create_app

app = create_app(title="Parley chat")
