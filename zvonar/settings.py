"""Settings, built once at start-up from ``ZVONAR_*`` env vars and an optional TOML file.

Nested groups use a double underscore in env names: ``ZVONAR_AMI__HOST``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from crm_core.campaign_settings import clean_sound_name
from crm_core.passwords import DEFAULT_HASHING, MIN_MEMORY_KIB_PER_LANE, PasswordHashing
from crm_core.services.client_access import DEFAULT_ACCESS_DAYS


class AmiSettings(BaseModel):
    """Where the Asterisk Manager Interface is; empty host means the built-in simulator."""

    host: str = ""
    port: int = 5038
    username: str = "zvonar"
    secret: SecretStr = SecretStr("")
    ping_interval: float = 5.0
    action_timeout: float = 10.0
    reconnect_backoff_max: float = 30.0
    agent_channel_template: str = "PJSIP/{endpoint}"
    trunk_dial_template: str = "PJSIP/{number}@trunk"
    click_to_call_context: str = "zvonar-outbound"
    campaign_context: str = "zvonar-campaign"
    originate_timeout_ms: int = 30000
    company_caller_id: str = ""
    # The recording an abandoned campaign call hears (who called, a number to call back), for
    # campaigns that name none of their own: an Asterisk sound name; empty: the stock apology.
    abandon_message: str = ""

    @field_validator("abandon_message")
    @classmethod
    def _sound_name(cls, value: str) -> str:
        return clean_sound_name(value, "ami.abandon_message") or ""


class PbxSimSettings(BaseModel):
    """The built-in PBX simulator, used when no Asterisk is configured."""

    host: str = "127.0.0.1"
    port: int = 5039
    time_scale: float = 1.0
    seed: int = 1
    # The share of answering client phones that are answering machines (issue 6's model: 0.1 of
    # dials against 0.3 humans, so a quarter of the answers).
    machine_share: float = Field(0.25, ge=0, le=1)


class DialerSettings(BaseModel):
    """The live campaign runner, started with the AMI bridge (dialer/campaign_runner.py)."""

    enabled: bool = True
    tick_seconds: float = Field(1.0, gt=0, le=10)
    lease_seconds: float = Field(60.0, ge=5)
    # One server paces a campaign at a time; another takes it over when this lease lapses.
    campaign_lease_seconds: float = Field(15.0, ge=3)
    preview_lease_seconds: float = Field(300.0, ge=30)
    # An attempt still dialing this long belongs to a dead dialer of another host.
    recover_after_seconds: float = Field(3 * 3600.0, ge=0)
    # Put a campaign's operators into its queue while it runs.
    login_agents: bool = True
    day_timezone: str = "Europe/Moscow"
    # An agent paused for one of these reasons is wrapping up a call (the TUI's wrap-up pause).
    wrapup_pause_reasons: tuple[str, ...] = ("wrap-up",)
    # On a graceful stop, calls still ringing get this long to end before they are finished as lost.
    stop_drain_seconds: float = Field(30.0, ge=0, le=120)


class RightsSettings(BaseModel):
    """Who sees which clients beyond their own (crm_core/rights.py)."""

    # A colleague's client the PBX put through to a user (an inbound queue, a campaign) or the
    # dialer showed them stays visible to that user this long: the call, the wrap-up, the
    # callback. 0: only one's own clients, even on a call (the card then does not open).
    call_access_days: float = Field(DEFAULT_ACCESS_DAYS, ge=0, le=365)


class HttpSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8080
    session_ttl_hours: float = 12.0
    # A token checked this recently is not looked up again (another server's logout takes effect here within it).
    session_cache_seconds: float = Field(5.0, ge=0, le=60)
    login_attempts_per_minute: int = 10


class PasswordSettings(BaseModel):
    """Argon2id cost for users' passwords (RFC 9106's low-memory profile); raised costs apply at each user's next login."""

    time_cost: int = Field(DEFAULT_HASHING.time_cost, ge=1)
    memory_kib: int = Field(DEFAULT_HASHING.memory_kib, ge=MIN_MEMORY_KIB_PER_LANE)
    parallelism: int = Field(DEFAULT_HASHING.parallelism, ge=1)

    @model_validator(mode="after")
    def _usable(self) -> PasswordSettings:
        self.hashing()  # crm_core.passwords owns the rules (memory per lane); its ValueError names the field
        return self

    def hashing(self) -> PasswordHashing:
        """The hasher these settings describe."""
        return PasswordHashing(time_cost=self.time_cost, memory_kib=self.memory_kib, parallelism=self.parallelism)


class Settings(BaseSettings):
    """Everything Zvonar can be told; passed down from the CLI, never read as a global."""

    model_config = SettingsConfigDict(
        env_prefix="ZVONAR_",
        env_nested_delimiter="__",
        extra="ignore",
    )

    database_url: str = ""
    bus: Literal["memory", "redis"] = "memory"
    redis_url: str = "redis://127.0.0.1:6379/0"
    default_region: str = "RU"
    log_format: Literal["kv", "json"] = "kv"
    log_level: str = "INFO"
    var_dir: Path = Field(default_factory=lambda: Path.cwd() / "var")
    ami: AmiSettings = Field(default_factory=AmiSettings)
    pbx_sim: PbxSimSettings = Field(default_factory=PbxSimSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    passwords: PasswordSettings = Field(default_factory=PasswordSettings)
    dialer: DialerSettings = Field(default_factory=DialerSettings)
    rights: RightsSettings = Field(default_factory=RightsSettings)

    @field_validator("default_region")
    @classmethod
    def _upper_region(cls, value: str) -> str:
        value = value.strip().upper()
        if len(value) != 2:
            raise ValueError("default_region must be a two-letter country code such as RU, UA, BY")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = init_settings.init_kwargs.pop("_toml_file", None) if hasattr(init_settings, "init_kwargs") else None
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        return tuple(sources)

    @property
    def effective_database_url(self) -> str:
        """The configured store, or the embedded SQLite file under ``var_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.var_dir / 'zvonar.sqlite3').resolve()}"

    @property
    def uses_pbx_simulator(self) -> bool:
        return not self.ami.host


def load_settings(toml_file: str | Path | None = None, **overrides: Any) -> Settings:
    """Build the one settings object: overrides > env > TOML file > defaults."""
    if toml_file is not None and not Path(toml_file).is_file():
        raise FileNotFoundError(f"settings file {toml_file} does not exist")
    kwargs: dict[str, Any] = dict(overrides)
    if toml_file is not None:
        kwargs["_toml_file"] = Path(toml_file)
    return Settings(**kwargs)
