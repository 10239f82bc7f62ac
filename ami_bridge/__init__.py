"""Zvonar's bridge to the Asterisk Manager Interface: wire protocol, call tracking, replay."""
