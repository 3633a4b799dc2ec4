"""The only code that talks to DynamoDB. One module per aggregate, sharing keys and codecs."""

from voice_status.repository.campaigns import CampaignRepository
from voice_status.repository.messages import MessageRepository, RecordResult

__all__ = ["CampaignRepository", "MessageRepository", "RecordResult"]
