"""Database models of wallets."""
