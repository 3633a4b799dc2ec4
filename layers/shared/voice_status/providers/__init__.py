"""Voice providers behind one interface (`base.VoiceProvider`), chosen by VOICE_PROVIDER.

- `routee`: the Routee HTTP client (credentials secret ROUTEE_CREDENTIALS_SECRET_NAME,
  URLs ROUTEE_AUTH_URL and ROUTEE_API_URL).
- `simulated`: the same client; the local stack points those URLs at `local/carrier.py`.
- `silent`: accepts every submission, sends nothing, tracks nothing.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import TYPE_CHECKING

from voice_status.providers.base import (
    Accepted,
    ProviderError,
    Submission,
    TextMessage,
    VoiceProvider,
    validate_submission,
)
from voice_status.providers.silent import SilentProvider

if TYPE_CHECKING:
    from voice_status.providers.routee import RouteeClient, RouteeSettings

__all__ = [
    "Accepted",
    "ProviderError",
    "SilentProvider",
    "Submission",
    "TextMessage",
    "VoiceProvider",
    "from_environment",
    "validate_submission",
]

PROVIDER_NAMES = ("routee", "simulated", "silent")


def from_environment() -> VoiceProvider:
    """The provider named by VOICE_PROVIDER, read now (not at import).

    Cheap to call per invocation: a Routee client is reused while its settings are the same,
    which keeps its access token and connections across warm invocations.
    """
    name = os.environ.get("VOICE_PROVIDER", "").strip().lower()
    if name == "silent":
        return SilentProvider()
    if name in ("routee", "simulated"):
        # Imported here: the Routee client brings `requests`, which only the functions that call
        # the provider need (the callback handler imports this package for its types alone).
        from voice_status.providers.routee import RouteeSettings  # noqa: PLC0415

        return _routee_client(RouteeSettings.from_environment())
    raise ValueError(f"VOICE_PROVIDER must be one of {', '.join(PROVIDER_NAMES)}, not {name!r}")


@lru_cache(maxsize=8)
def _routee_client(settings: RouteeSettings) -> RouteeClient:
    from voice_status.providers.routee import RouteeClient  # noqa: PLC0415 - see from_environment

    return RouteeClient(settings)
