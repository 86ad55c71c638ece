"""Django admin (back-office) for accounts; writes go through services."""
