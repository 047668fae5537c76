"""The /api/v1 routers of `knot server`, one module per area; app.py includes them."""
