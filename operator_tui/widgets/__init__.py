"""The desk's widgets: each takes its data as attributes and reports what the operator did as messages."""
