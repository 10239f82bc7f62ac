"""Call scripts and questionnaires: definition, validation, the runner, the protocol.

- ``loader``: YAML (safe) + the shipped JSON Schema (``schema/script.schema.json``) -> ``model.Script``.
- ``checker``: static checks, each problem naming its step id and field.
- ``templates``: ``{client.name}`` placeholders rendered in a Jinja2 sandbox.
- ``runner``: the pure state machine the operator's screen and the protocol store drive.
- ``cli_commands``: ``zvonar script check`` / ``zvonar script run``.
"""
