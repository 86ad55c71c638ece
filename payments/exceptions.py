"""Domain errors of payments. Each class names its HTTP status and error code;
vaultcore.errors maps them to responses in one place."""

from rest_framework import status

from vaultcore.errors import DomainError


class PaymentError(DomainError):
    """Base class of payments errors."""


class DecryptionFailed(PaymentError):
    """A stored encrypted value could not be decrypted (wrong key, tampering, or moved value)."""

    status_code = status.HTTP_500_INTERNAL_SERVER_ERROR
    code = "decryption_failed"
    default_detail = "A stored encrypted value could not be decrypted."


class UnsupportedCurrency(PaymentError):
    """The currency is unknown or not enabled."""

    code = "unsupported_currency"
    default_detail = "This currency is not supported."
    attr = "currency"


class BankAccountNotFound(PaymentError):
    """No bank account with this id belongs to the caller."""

    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"
    default_detail = "Bank account not found."


class InvalidWebhookSignature(PaymentError):
    """The Stripe-Signature header is missing, forged, or outside the tolerance window."""

    code = "invalid_signature"
    default_detail = "The Stripe-Signature header is missing, invalid or too old."
    attr = None


class InvalidWebhookPayload(PaymentError):
    """A correctly signed webhook body is not a Stripe event."""

    code = "invalid_payload"
    default_detail = "The webhook body is not a valid Stripe event."


class WebhookPayloadTooLarge(PaymentError):
    """The webhook body exceeds DATA_UPLOAD_MAX_MEMORY_SIZE."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    code = "payload_too_large"
    default_detail = "The webhook body is too large."


class WebhookNotConfigured(PaymentError):
    """STRIPE_WEBHOOK_SECRET is not set, so no webhook can be verified (Stripe retries 5xx)."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "service_unavailable"
    default_detail = "Webhooks are not configured on this server."


class StripeEventNotRetryable(PaymentError):
    """Only failed Stripe events, or received ones no worker holds, can be retried."""

    status_code = status.HTTP_409_CONFLICT
    code = "event_not_retryable"
    default_detail = "Only failed events, or received events no worker is processing, can be retried."


class StripeRequestRejected(PaymentError):
    """Stripe refused the request (4xx); retrying it unchanged would fail again."""

    status_code = status.HTTP_502_BAD_GATEWAY
    code = "provider_rejected"
    default_detail = "The payment provider rejected the request."

    def __init__(
        self,
        detail: str | None = None,
        *,
        http_status: int | None = None,
        stripe_code: str | None = None,
        decline_code: str | None = None,
    ) -> None:
        self.http_status = http_status
        self.stripe_code = stripe_code
        self.decline_code = decline_code
        super().__init__(detail)


class StripeUnavailable(PaymentError):
    """Stripe could not be reached or kept failing (timeouts, 5xx, 429) after every retry."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "provider_unavailable"
    default_detail = "The payment provider is unavailable; nothing was lost, the request can be retried."


class AmountNotRepresentable(PaymentError):
    """The amount cannot be expressed exactly in Stripe's minor units for this currency."""

    code = "invalid_amount"
    default_detail = "This amount cannot be sent to the payment provider without rounding."
    attr = "amount"


class JobLockUnavailable(PaymentError):
    """Another run of this background job holds its lock (or the lock service is down)."""

    status_code = status.HTTP_409_CONFLICT
    code = "job_locked"
    default_detail = "This job is already running elsewhere."


class ReconciliationIssueNotOpen(PaymentError):
    """Only an open reconciliation issue can be resolved."""

    status_code = status.HTTP_409_CONFLICT
    code = "issue_not_open"
    default_detail = "This reconciliation issue is already resolved."


class ResolutionNoteRequired(PaymentError):
    """Resolving a reconciliation issue needs a note saying what was done."""

    code = "note_required"
    default_detail = "A note is required to resolve an issue."
    attr = "note"


class ReconciliationPermissionDenied(PaymentError):
    """Only staff and heavier roles may resolve reconciliation issues."""

    status_code = status.HTTP_403_FORBIDDEN
    code = "permission_denied"
    default_detail = "You do not have permission to perform this action."


class InvalidBankAccount(PaymentError):
    """The withdrawal's bank account id is malformed or in another currency."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = "invalid"
    default_detail = "Invalid bank account."
    attr = "bank_account_id"


class ProviderUnavailable(PaymentError):
    """The payment provider could not be reached; nothing was charged or paid out."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "service_unavailable"
    default_detail = "The payment provider is unavailable; please retry."
