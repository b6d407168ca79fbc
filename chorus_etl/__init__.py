"""Settings, logging and the command line of the Chorus Pro invoice pipeline."""

__version__ = "0.1.0"
