"""Alembic migrations of the warehouse schema, shipped with the package for `chorus-etl db upgrade`."""
