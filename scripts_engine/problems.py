"""What is wrong with a script: problems naming the step and the field, and their error."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong: the step (None for the script's own fields), the field, what is wrong."""

    step_id: str | None
    field: str
    message: str

    def line(self) -> str:
        """The form `zvonar script check` prints: ``step <id>: <field>: <message>``."""
        where = f"step {self.step_id}" if self.step_id is not None else "script"
        return f"{where}: {self.field}: {self.message}"

    def __str__(self) -> str:
        where = f"step '{self.step_id}'" if self.step_id is not None else "script"
        return f"{where}: field '{self.field}': {self.message}"


class ScriptError(ValueError):
    """A script that cannot be used; `problems` lists everything found, not just the first."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...], source: str = "<script>") -> None:
        self.problems = tuple(problems)
        self.source = source
        first = str(self.problems[0]) if self.problems else "invalid script"
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(f"{source}: {first}{more}")
