"""Shared code of the voice status service: domain model, repository and provider clients."""
