"""Inputs of the campaign workflow's Lambda tasks, as the state machine passes them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class CampaignTask(BaseModel):
    model_config = ConfigDict(extra="ignore")

    campaign_id: str = Field(alias="campaignId", min_length=1, max_length=64)


class TaskTokenTask(CampaignTask):
    """A `.waitForTaskToken` task: the token the campaign's workflow waits on."""

    task_token: str = Field(alias="taskToken", min_length=1, repr=False)
