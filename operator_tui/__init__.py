"""The Textual desk for operators and supervisors; a client of the HTTP/WebSocket API."""
