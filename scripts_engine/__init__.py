"""Call scripts and questionnaires: definition, validation, the runner, the protocol."""
