"""Callback URL signatures: base64url (no padding) of HMAC-SHA256(secret, campaignId)."""

from __future__ import annotations

import base64
import hashlib
import hmac


def sign_campaign(secret: str, campaign_id: str) -> str:
    digest = hmac.new(secret.encode(), campaign_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def is_valid_signature(secret: str, campaign_id: str, signature: str) -> bool:
    # compare_digest keeps the comparison time independent of where the strings differ.
    return hmac.compare_digest(sign_campaign(secret, campaign_id).encode(), signature.encode())


def callback_url(api_url: str, campaign_id: str, secret: str) -> str:
    return f"{api_url.rstrip('/')}/callbacks/voice/{campaign_id}/{sign_campaign(secret, campaign_id)}"
