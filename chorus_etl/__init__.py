"""The ground the pipeline stands on: settings, logging, database access and migrations.

Nothing here imports a stage, a flow or the command line; they all import this.
"""

__version__ = "0.1.0"
