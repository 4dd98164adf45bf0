"""paperbot: curated paper notes for research communities on Discord."""

__version__ = "0.1.0"
