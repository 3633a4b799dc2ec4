"""Campaigns created and dispatched with the product's own functions (tests/workflow/support.py)."""

from tests.workflow.conftest import campaigns, provider

__all__ = ["campaigns", "provider"]
