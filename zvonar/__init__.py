"""Zvonar's composition root: settings, CLI, event bus and the aiohttp application."""

__version__ = "0.1.0"
