"""Data contracts: the export (pandera), the warehouse (sqlmodel), the API payloads (pydantic)."""
