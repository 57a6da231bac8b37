"""``parley dev``: the whole API on one local server, with embedded defaults."""

from __future__ import annotations

import sys

from parley.apps.dev.app import create_dev_app
from parley.apps.dev.localdb import prepare_local_dynamodb
from parley.auth import mint_token, resolve_jwt_secret
from parley.config import get_settings
from parley.hot import hot_backend_name

__all__ = ["serve"]

DEV_USER = "dev-user"
DEV_SCOPES = "analytics:view users:manage"


def serve(*, host: str, port: int) -> None:
    import uvicorn

    settings = get_settings()
    database = prepare_local_dynamodb(settings)
    token = mint_token(
        resolve_jwt_secret(settings),
        user_id=DEV_USER,
        scopes=DEV_SCOPES,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
    )
    app = create_dev_app(settings, dev_token=token)
    base = f"http://{host}:{port}"
    where = "in-process moto server" if database.emulated else "configured endpoint"
    # The banner goes to stderr, the logs to stdout: scripts can read either one alone.
    print(  # noqa: T201
        f"""
Parley development server  {base}
  playground  {base}/
  analytics   {base}/analytics  (after `parley jobs run aggregate-usage`)
  DynamoDB    {database.endpoint} ({where})
  hot state   {hot_backend_name(settings)}
  token       {token}

  The token is for user {DEV_USER} with scopes "{DEV_SCOPES}";
  mint others with: parley token --user U [--org O] [--scope S]
  curl -H "Authorization: Bearer <token>" {base}/v1/me
""",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
