"""Prefect deployments: `prefect.yaml` for workers, `serve.py` for one host; they import only flows."""
