"""A provider that accepts every valid submission and sends nothing (tests, offline demos)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

from voice_status.providers.base import Accepted, Submission, validate_submission
from voice_status.reports import StatusReport


class SilentProvider:
    def submit(self, submission: Submission) -> Accepted:
        # Same limits as a real provider, so a chunking bug shows up with this provider too.
        validate_submission(submission)
        return Accepted(tracking_id=f"silent-{uuid.uuid4()}", accepted=len(submission.recipients))

    def track(self, tracking_id: str) -> Iterator[StatusReport]:
        return iter(())
