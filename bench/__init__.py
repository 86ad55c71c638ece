"""VaultCore benchmarks: raw SQL ceiling, service level and HTTP level (see bench/README.md)."""
