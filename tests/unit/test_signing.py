import base64
import hashlib
import hmac

from voice_status.signing import callback_url, is_valid_signature, sign_campaign


def test_signature_is_unpadded_base64url_hmac_sha256_of_the_campaign_id() -> None:
    expected = base64.urlsafe_b64encode(hmac.new(b"key", b"campaign-1", hashlib.sha256).digest())
    assert sign_campaign("key", "campaign-1") == expected.decode().rstrip("=")
    assert "=" not in sign_campaign("key", "campaign-1")


def test_signature_only_fits_its_own_campaign_and_key() -> None:
    signature = sign_campaign("key", "campaign-1")
    assert is_valid_signature("key", "campaign-1", signature)
    assert not is_valid_signature("key", "campaign-2", signature)
    assert not is_valid_signature("other-key", "campaign-1", signature)
    assert not is_valid_signature("key", "campaign-1", signature[:-1])
    assert not is_valid_signature("key", "campaign-1", "ünïcode")


def test_callback_url_joins_base_campaign_and_signature() -> None:
    url = callback_url("https://api.example.test/dev/", "c1", "key")
    assert url == f"https://api.example.test/dev/callbacks/voice/c1/{sign_campaign('key', 'c1')}"
