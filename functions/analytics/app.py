"""Analytics function: the FastAPI app behind its function URL, through Mangum."""

from mangum import Mangum

from parley.apps.analytics import create_analytics_app

app = create_analytics_app()
# No lifespan: the app opens nothing that needs closing, and Lambda freezes, not stops.
handler = Mangum(app, lifespan="off")
