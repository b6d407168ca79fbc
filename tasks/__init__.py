"""The pipeline's stages, one package each; a flow imports a stage's Prefect tasks from its package."""
