"""The script panel beside the card: the step's text, its question and input, back and objections.

The desk sets ``session`` (the server's SessionOut) and ``error``/``pending``; the
panel posts ScriptAction messages. The input is rebuilt only when the step changes, so
a refused or unsent answer stays in its field to be corrected or sent again.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.reactive import reactive
from textual.widgets import Static

from operator_tui.i18n import _
from operator_tui.messages import ScriptAction
from operator_tui.widgets.answer_input import (
    AnswerGiven,
    ChoiceAnswer,
    TypedAnswer,
    choices_for,
)
from operator_tui.widgets.translated import TrButton


def step_key(session: dict[str, Any] | None) -> tuple[Any, ...] | None:
    """What identifies the step on screen: a new key means a new input."""
    if not session:
        return None
    cur = session.get("current") or {}
    return (session.get("id"), cur.get("step_id"), cur.get("objection"), cur.get("finished"),
            len(session.get("answers") or {}), session.get("status"))


class ScriptPanel(Vertical):
    """One script session, step by step."""

    DEFAULT_CSS = """
    ScriptPanel { height: 1fr; padding: 0 1; }
    ScriptPanel #script-head { text-style: bold; color: $accent; }
    ScriptPanel #script-scroll { height: auto; max-height: 65%; }
    ScriptPanel #script-input { height: auto; max-height: 14; }
    ScriptPanel #script-input OptionList { height: auto; max-height: 12; border: none; padding: 0; }
    ScriptPanel #script-status { height: auto; }
    ScriptPanel #script-keys { color: $text-muted; height: auto; }
    """

    session: reactive[dict[str, Any] | None] = reactive(None, always_update=True)
    error: reactive[str | None] = reactive(None)
    pending: reactive[str] = reactive("")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._shown_key: tuple[Any, ...] | None = None
        self._want_focus = False

    def focus_next_input(self) -> None:
        """Put the focus on the input of the step that is about to be shown."""
        self._want_focus = True
        self.focus_input()

    def _holds_focus(self) -> bool:
        focused = self.screen.focused
        return focused is not None and (focused is self or self in focused.ancestors)

    def compose(self) -> ComposeResult:
        yield Static(id="script-head", markup=False)
        with VerticalScroll(id="script-scroll"):
            yield Static(id="script-text", markup=False)
        yield Vertical(id="script-input")
        yield Static(id="script-status", markup=False)
        yield Static(id="script-keys", markup=False)

    # ------------------------------------------------------------------ drawing

    def retranslate(self) -> None:
        self._draw_texts()
        self._draw_status()

    def _draw_texts(self) -> None:
        head = self.query_one("#script-head", Static)
        body = self.query_one("#script-text", Static)
        keys = self.query_one("#script-keys", Static)
        session = self.session
        if not session:
            head.update(_("Script"))
            body.update(_("No script is running. F4 starts one for the client on the card."))
            keys.update("")
            return
        script = session.get("script") or {}
        cur = session.get("current") or {}
        head.update(f"{script.get('name', '')}  v{script.get('version', '')} · {cur.get('step_id', '')}")
        text = Text()
        if cur.get("objection"):
            text.append(_("Objection") + f": {cur['objection']}\n", style="bold yellow")
        text.append(str(cur.get("text") or ""))
        if cur.get("hint"):
            text.append("\n\n" + str(cur["hint"]), style="dim italic")
        for problem in cur.get("problems") or []:
            text.append(f"\n⚠ {problem.get('field')}: {problem.get('message')}", style="yellow")
        if cur.get("finished"):
            text.append("\n\n" + _("The script is finished."), style="bold green")
            for outcome in session.get("outcomes") or []:
                applied = "✓" if outcome.get("applied") else "✗"
                note = f" — {outcome['note']}" if outcome.get("note") else ""
                text.append(f"\n{applied} {outcome.get('kind', '')}{note}")
        body.update(text)
        parts = []
        if cur.get("can_back"):
            parts.append(_("Ctrl+B back"))
        if cur.get("objections") and not cur.get("objection"):
            parts.append(_("Ctrl+O objection"))
        if cur.get("objection"):
            parts.append(_("Ctrl+R return"))
        keys.update(" · ".join(parts))

    def _draw_status(self) -> None:
        status = self.query_one("#script-status", Static)
        text = Text()
        if self.error:
            text.append(_("Not accepted") + f": {self.error}", style="bold red")
        if self.pending == "sending":
            text.append(_("Sending…"), style="dim")
        elif self.pending == "queued":
            text.append(("\n" if self.error else "") + _("Not sent: the server is unreachable; it will be sent again."),
                        style="bold yellow")
        status.update(text)

    async def watch_session(self, session: dict[str, Any] | None) -> None:
        if not self.is_mounted:
            return
        self._draw_texts()
        key = step_key(session)
        if key != self._shown_key:
            self._shown_key = key
            self.error = None
            await self._rebuild_input(session)

    def watch_error(self) -> None:
        if self.is_mounted:
            self._draw_status()

    def watch_pending(self) -> None:
        if self.is_mounted:
            self._draw_status()

    async def _rebuild_input(self, session: dict[str, Any] | None) -> None:
        box = self.query_one("#script-input", Vertical)
        # The operator was working in the panel: the next step's input gets the focus.
        refocus = self._want_focus or self._holds_focus()
        await box.remove_children()
        if not session:
            return
        cur = session.get("current") or {}
        spec = cur.get("input")
        if cur.get("finished"):
            return
        if spec is None:
            button = TrButton("Finish the script" if cur.get("terminal") else "Next ▶", id="script-next",
                              variant="primary")
            await box.mount(button)
        else:
            choices = choices_for(spec)
            widget = (ChoiceAnswer(choices, multi=spec.get("kind") == "multi", translate=spec.get("kind") == "yes_no",
                                   id="script-answer")
                      if choices is not None else TypedAnswer(spec, id="script-answer"))
            await box.mount(widget)
        if refocus or self.screen.focused is None:
            self._want_focus = False
            self.focus_input()

    # ------------------------------------------------------------------ operator actions

    def focus_input(self) -> bool:
        for widget in self.query("#script-answer, #script-next"):
            widget.focus()
            return True
        return False

    def typed_text(self) -> str | None:
        """What sits in a typed-answer field now (kept on screen until the server takes it)."""
        for widget in self.query("#script-answer"):
            if isinstance(widget, TypedAnswer):
                return widget.value
        return None

    def choose(self, index: int) -> bool:
        """A number key from the desk: pick the index-th choice when the question has choices."""
        for widget in self.query("#script-answer"):
            if isinstance(widget, ChoiceAnswer):
                return widget.choose(index)
        return False

    def _current(self) -> dict[str, Any]:
        return (self.session or {}).get("current") or {}

    def on_answer_given(self, event: AnswerGiven) -> None:
        event.stop()
        if self.session and not self.pending:
            self.post_message(ScriptAction("answer", step_id=self._current().get("step_id"), value=event.value))

    def on_button_pressed(self, event: TrButton.Pressed) -> None:
        if event.button.id != "script-next" or not self.session or self.pending:
            return
        event.stop()
        if self._current().get("terminal"):
            self.post_message(ScriptAction("finish"))
        else:
            self.post_message(ScriptAction("answer", step_id=self._current().get("step_id"), value=None))

    def request_back(self) -> bool:
        if self.session and self._current().get("can_back") and not self.pending:
            self.post_message(ScriptAction("back"))
            return True
        return False

    def objections(self) -> list[tuple[str, str]]:
        cur = self._current()
        if cur.get("objection"):
            return []
        return [(o["id"], o.get("label") or o["id"]) for o in cur.get("objections") or []]

    def request_return(self) -> bool:
        if self.session and self._current().get("objection") and not self.pending:
            self.post_message(ScriptAction("return"))
            return True
        return False
