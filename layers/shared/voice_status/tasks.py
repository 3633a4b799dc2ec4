"""Inputs of the campaign workflow's Lambda tasks, as the state machine passes them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class CampaignTask(BaseModel):
    model_config = ConfigDict(extra="ignore")

    campaign_id: str = Field(alias="campaignId", min_length=1, max_length=64)


class TaskTokenTask(CampaignTask):
    """A `.waitForTaskToken` task: the token the campaign's workflow waits on."""

    task_token: str = Field(alias="taskToken", min_length=1, repr=False)


class LoopTask(CampaignTask):
    """A step of one of the workflow's loops (dispatch, reconciliation): where to go on from."""

    cursor: int = Field(default=0, ge=0, description="Index of the first chunk not handled yet.")

    @field_validator("cursor", mode="before")
    @classmethod
    def _start_when_absent(cls, value: Any) -> Any:
        return 0 if value is None else value
