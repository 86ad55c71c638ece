"""Wallets: one per user per currency, with balance and held funds."""
