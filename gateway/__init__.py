"""Gateway: the FastAPI service that authenticates callers, applies policies and audits disclosures."""
