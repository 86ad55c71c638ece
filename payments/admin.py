"""Django admin (back-office) for payments; writes go through services."""
