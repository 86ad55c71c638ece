"""Database models of payments."""
