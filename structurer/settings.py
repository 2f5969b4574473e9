"""All settings in one pydantic-settings class.

Standard variables are honoured without prefix: OPENAI_BASE_URL, OPENAI_API_KEY,
DATABASE_URL, LABEL_STUDIO_URL, LABEL_STUDIO_API_KEY. Everything else is STRUCTURER_<NAME>.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from structurer.redact import redact_url

__all__ = ["Settings", "redact_url"]

REPO_ROOT = Path(__file__).resolve().parent.parent

InstructorModeName = Literal["json_schema", "tools", "json", "md_json"]
TableReaderMode = Literal["llm", "table", "both"]
# llama.cpp's speculative decoding types (xllamacpp common_speculative_type); "draft": a small
# draft model sharing the tokenizer (embedded_draft_model).
SpeculativeType = Literal[
    "none", "ngram_simple", "ngram_map_k", "ngram_map_k4v", "ngram_mod", "ngram_cache", "draft"
]


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "structurer"


OFF_WORDS = ("", "off", "none", "0")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="STRUCTURER_", extra="ignore", populate_by_name=True
    )

    data_dir: Path = Field(default_factory=_default_data_dir)
    database_url: str | None = Field(
        None, validation_alias=AliasChoices("DATABASE_URL", "STRUCTURER_DATABASE_URL")
    )

    # The endpoint. With no base URL, the embedded llama.cpp server is used.
    openai_base_url: str | None = Field(
        None, validation_alias=AliasChoices("OPENAI_BASE_URL", "STRUCTURER_OPENAI_BASE_URL")
    )
    openai_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("OPENAI_API_KEY", "STRUCTURER_OPENAI_API_KEY")
    )
    model: str | None = Field(
        None, description="model name at the endpoint; embedded model when unset"
    )
    embedded_model: Literal["qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b"] = "qwen2.5-coder-1.5b"
    embedded_host: str = "127.0.0.1"
    embedded_port: int = 18080
    embedded_ctx: int = Field(8192, ge=512, description="context tokens per server slot")
    # The embedded server's settings (structurer/llm/embedded/server.py). Changing any of them
    # restarts a running server of ours. Defaults measured by bench/speed.py (bench/README.md).
    embedded_threads: int | None = Field(
        None,
        ge=1,
        description="generation (decode) threads; default: every core on a quiet box, "
        "cores - 1 on a busy one (decided when the server starts)",
    )
    embedded_batch_threads: int | None = Field(
        None, ge=1, description="prompt processing (prefill) threads; default: embedded_threads"
    )
    embedded_poll: int = Field(
        50, ge=0, le=100, description="llama.cpp threads' busy-wait polling level (0: none)"
    )
    embedded_parallel: int = Field(
        2,
        ge=1,
        description="server slots (requests decoded at once); a document's parts are sent "
        "this many at a time (bench/README.md: two slots decode two parts in one batch)",
    )
    embedded_cache_prompt: bool = Field(
        True, description="reuse a slot's cached prompt prefix across requests"
    )
    embedded_cache_ram_mib: int = Field(
        1024, ge=0, description="host memory for prompts cached across slots"
    )
    embedded_speculative: SpeculativeType = "none"
    # n-gram speculation (ngram_simple, ngram_map_k, ngram_map_k4v): the n-gram looked up in the
    # text so far (n tokens) and the draft it proposes (up to m tokens). llama.cpp's defaults.
    embedded_spec_ngram_n: int = Field(12, ge=1)
    embedded_spec_ngram_m: int = Field(48, ge=1)
    embedded_spec_min_hits: int = Field(1, ge=1)
    embedded_draft_model: Literal["qwen2.5-coder-0.5b"] = "qwen2.5-coder-0.5b"
    embedded_draft_max: int | None = Field(
        None, ge=1, description="draft model: most tokens drafted per step; llama.cpp's default"
    )
    instructor_mode: InstructorModeName = "json_schema"
    temperature: float = 0.0
    timeout: float = 900.0
    max_retries: int = 2
    max_tokens: int = 1024
    logprobs: bool = True

    report_type: str = "gov_disclosure"
    prompt_version: str = "v5"
    prompts_dir: Path = REPO_ROOT / "prompts"
    # Which reader fills the standard tables: the LLM, the deterministic table reader, or both.
    table_reader: TableReaderMode = "table"
    # Deterministic rule readers (title, year, dates, body, contact) read beside the LLM.
    rule_reader: bool = True
    # Grounding of the LLM's values in the text (core/evidence/grounding.py): "reask" re-asks
    # once inside the call about values the text does not contain and nulls what still fails;
    # "check" only nulls; "off" neither.
    grounding: Literal["off", "check", "reask"] = "reask"
    samples: int = Field(1, ge=1, description="k sampled extractions per section, for agreement")
    # Ask less: "parts" does not send a part whose every field a deterministic reader (table,
    # rules) already read with an exact quote; "fields" also leaves such fields out of the parts
    # it sends (measured by bench/speed.py; the LLM's agreement is then no confidence signal for
    # those fields: their rule or table reading stands alone).
    ask_less: Literal["off", "parts", "fields"] = "fields"
    # The longest quote a reply may give (the schema's maxLength; None: no limit); a clipped
    # quote is completed from the text to its clause's end (core/evidence/complete.py). Off:
    # measured at 20 on the dev reports, it cost accuracy (legacy -14.7 points), because the
    # model writes its value after its quote, and a quote cut before the number lost it.
    quote_max_chars: int | None = Field(None, ge=4)
    # The longest list item a reply may give (the schema's maxLength; None: no limit), under a
    # prompt that asks for item starts (v5): the model writes the start of each item and the
    # pipeline completes it to its sentence's end from the text (core/evidence/complete.py).
    # Off: measured at 20 on the dev reports, the 1.5B model either copied the whole section in
    # 20-character pieces or closed the list after its first clipped item (list F1 0.74 -> 0.49).
    item_max_chars: int | None = Field(None, ge=8)

    review_threshold: float = Field(
        0.8, ge=0, le=1, description="fields below this confidence need review"
    )
    concurrency: int = Field(1, ge=1)
    max_input_mb: float = Field(
        20.0, gt=0, description="input files larger than this (MB) are refused, not read"
    )
    max_reply_kb: int = Field(
        1024, ge=16, description="a model reply larger than this (KB) is refused unread"
    )
    price_per_1k_input: float | None = None
    price_per_1k_output: float | None = None

    label_studio_url: str | None = Field(
        None, validation_alias=AliasChoices("LABEL_STUDIO_URL", "STRUCTURER_LABEL_STUDIO_URL")
    )
    label_studio_api_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("LABEL_STUDIO_API_KEY", "STRUCTURER_LABEL_STUDIO_API_KEY"),
    )

    # Confidence calibration and the review policy (see structurer/confidence/policy.py).
    calibration_file: Path | None = Field(
        None, description="calibration artifact to use; default <data_dir>/calibration/current"
    )
    review_budget: float | None = Field(
        None, gt=0, le=1, description="send the least confident share of fields to review"
    )
    target_accuracy: float | None = Field(
        None,
        gt=0,
        lt=1,
        description="auto-accept only above the threshold shown on gold to reach this accuracy",
    )

    @field_validator("quote_max_chars", "item_max_chars", mode="before")
    @classmethod
    def _cap_off(cls, value: Any) -> Any:
        """`off`, `none`, an empty value or 0 turn a length cap off (e.g. in the environment)."""
        if value is None or (isinstance(value, str) and value.strip().lower() in OFF_WORDS):
            return None
        return None if value == 0 else value

    @field_validator("openai_base_url", "label_studio_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            parts = urlsplit(value.strip())
            parts.port  # noqa: B018 - raises on a malformed port
        except ValueError:
            raise ValueError("not a valid URL (expected http(s)://host[:port]/...)") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("not a valid URL (expected http(s)://host[:port]/...)")
        return value.strip()

    @model_validator(mode="after")
    def _samples_need_temperature(self) -> Settings:
        if self.samples > 1 and self.temperature <= 0:
            raise ValueError(
                "samples > 1 needs temperature > 0 (STRUCTURER_TEMPERATURE, e.g. 0.7): at "
                "temperature 0 every sample is the same reply, so they cannot disagree"
            )
        return self

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'structurer.db'}"

    @property
    def part_concurrency(self) -> int:
        """Parts of one document in flight at once: the embedded server's slots (a batch of
        two decodes nearly as fast as one on a CPU), else `concurrency`."""
        return max(self.concurrency, self.embedded_parallel if self.uses_embedded_model else 1)

    @property
    def uses_embedded_model(self) -> bool:
        return not self.openai_base_url

    @property
    def model_name(self) -> str:
        if self.model:
            return self.model
        return self.embedded_model if self.uses_embedded_model else "gpt-4o-mini"

    def extraction_settings(self) -> dict[str, Any]:
        """What an extraction ran with. Never holds secrets. Keys are stable: runs compare by them."""
        return {
            "report_type": self.report_type,
            "prompt_version": self.prompt_version,
            "model": self.model_name,
            "endpoint": "embedded"
            if self.uses_embedded_model
            else redact_url(self.openai_base_url or ""),
            "instructor_mode": self.instructor_mode,
            "temperature": self.temperature,
            "max_retries": self.max_retries,
            "max_tokens": self.max_tokens,
            "table_reader": self.table_reader,
            "rule_reader": self.rule_reader,
            "grounding": self.grounding,
            "samples": self.samples,
            # only when on, so that the runs made before these settings existed keep their hash
            **({"ask_less": self.ask_less} if self.ask_less != "off" else {}),
            **({"quote_max_chars": self.quote_max_chars} if self.quote_max_chars else {}),
            **({"item_max_chars": self.item_max_chars} if self.item_max_chars else {}),
        }
