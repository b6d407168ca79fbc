"""Chorus Pro through PISTE: the httpx client and the local simulator (no Prefect, no warehouse)."""
