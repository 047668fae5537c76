"""The metadata database every area shares: its engine (engine.py), the Database handle
(database.py), the schema version and shared MetaData (schema.py) and the Alembic
migrations. Which store a URI opens is chosen in knot.backends."""
