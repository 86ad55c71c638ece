"""Payment providers (Stripe), webhooks, reconciliation and encrypted bank details."""
