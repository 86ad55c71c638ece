"""Users, roles, authentication and email flows."""
