"""The audit trail has no background jobs."""
