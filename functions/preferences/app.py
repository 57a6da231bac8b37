"""Preferences function: the FastAPI app behind a Lambda function URL, adapted by Mangum."""

from mangum import Mangum

from parley.apps.preferences import create_preferences_app

app = create_preferences_app()
handler = Mangum(app, lifespan="off")
