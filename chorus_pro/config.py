"""What a `ChorusProClient` needs to know, and nothing it does not.

The client takes this small object rather than the pipeline's settings so that the package knows
nothing of the pipeline and can be used (and tested) on its own, and so that the secrets it holds stay
`SecretStr`: the config can be printed, logged or put in a traceback without revealing them.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr

__all__ = ["ChorusProConfig"]


class ChorusProConfig(BaseModel):
    """Endpoints, the two credential layers (PISTE OAuth client, Chorus technical account), limits."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    api_url: str = Field(description="API host; operation paths `/cpro/...` are appended.")
    oauth_url: str = Field(description="Full URL of the PISTE OAuth2 token endpoint.")
    client_id: str
    client_secret: SecretStr
    login: str = Field(description="Chorus Pro technical account, `TECH_n_...@cpro.fr`.")
    password: SecretStr

    timeout: float = Field(default=30.0, gt=0, description="Read/write/pool timeout, seconds.")
    connect_timeout: float = Field(default=10.0, gt=0)
    max_retries: int = Field(default=5, ge=0, description="Retries after the first attempt.")
    backoff_base: float = Field(default=0.5, ge=0)
    backoff_max: float = Field(default=30.0, ge=0)
    retry_after_max: float = Field(
        default=300.0,
        ge=0,
        description="Longest Retry-After the client sleeps through; beyond it, it gives up.",
    )
    token_refresh_margin: float = Field(
        default=60.0, ge=0, description="Seconds before expiry when a token is renewed."
    )
    max_connections: int = Field(default=20, ge=1)
    trust_env: bool = Field(
        default=True, description="Honour HTTP(S)_PROXY / NO_PROXY, as corporate networks need."
    )
    user_agent: str = "chorus-etl"
