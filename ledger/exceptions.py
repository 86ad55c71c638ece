"""Domain errors of ledger. Each class names its HTTP status and error code;
vaultcore.errors maps them to responses in one place."""

from rest_framework import status

from vaultcore.errors import DomainError


class LedgerError(DomainError):
    """Base class of ledger errors."""


class InvalidAmount(LedgerError):
    """The amount is not acceptable for this currency (digits, sign, maximum)."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = "invalid"
    default_detail = "Invalid amount."
    attr = "amount"


class InsufficientFunds(LedgerError):
    """The wallet's available balance does not cover the amount."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    code = "insufficient_funds"
    default_detail = "The wallet's available balance is not enough for this amount."


class RecipientNotFound(LedgerError):
    """No user matches the recipient username or email."""

    status_code = status.HTTP_404_NOT_FOUND
    code = "recipient_not_found"
    default_detail = "No user matches this recipient."


class SelfTransfer(LedgerError):
    """Sender and recipient are the same user."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = "self_transfer"
    default_detail = "You cannot transfer money to yourself."
    attr = "recipient"


class CurrencyMismatch(LedgerError):
    """The recipient has no wallet in the transfer's currency."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    code = "currency_mismatch"
    default_detail = "The recipient has no wallet in this currency."


class EmailNotVerified(LedgerError):
    """Outgoing money needs a verified email address."""

    status_code = status.HTTP_403_FORBIDDEN
    code = "email_not_verified"
    default_detail = "Verify your email address before sending or withdrawing money."


class LimitExceeded(LedgerError):
    """The daily outgoing limit of the user's role would be exceeded."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    code = "limit_exceeded"
    default_detail = "This would exceed your daily outgoing limit."


class TransactionNotFound(LedgerError):
    """No transaction of the caller has this id (someone else's is as good as missing)."""

    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"
    default_detail = "Not found."


class InvalidTransactionState(LedgerError):
    """The transaction is not in a state that allows this operation."""

    status_code = status.HTTP_409_CONFLICT
    code = "invalid_state"
    default_detail = "The transaction's status does not allow this operation."


class AlreadyReversed(LedgerError):
    """A posted transaction can be reversed only once."""

    status_code = status.HTTP_409_CONFLICT
    code = "already_reversed"
    default_detail = "This transaction has already been reversed."


class LedgerPermissionDenied(LedgerError):
    """The acting user's role does not allow this ledger operation."""

    status_code = status.HTTP_403_FORBIDDEN
    code = "permission_denied"
    default_detail = "You do not have permission to perform this action."


class InvalidIdempotencyKey(LedgerError):
    """The Idempotency-Key header is empty, too long or not printable ASCII."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = "invalid"
    default_detail = "Idempotency-Key must be 1-255 printable ASCII characters."
    attr = "Idempotency-Key"


class IdempotencyKeyReused(LedgerError):
    """The key was already used with a different request."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    code = "idempotency_key_reused"
    default_detail = "This Idempotency-Key was already used with a different request."


class IdempotencyKeyInUse(LedgerError):
    """A request with this key is still running."""

    status_code = status.HTTP_409_CONFLICT
    code = "idempotency_key_in_use"
    default_detail = "A request with this Idempotency-Key is still being processed; retry later."


class ApprovalNotPending(LedgerError):
    """The approval request was already approved or rejected."""

    status_code = status.HTTP_409_CONFLICT
    code = "approval_not_pending"
    default_detail = "This request has already been decided."


class ApprovalForbidden(LedgerError):
    """Four-eyes rule: the checker must be another user of role admin or above (superuser above
    the threshold)."""

    status_code = status.HTTP_403_FORBIDDEN
    code = "permission_denied"
    default_detail = "You may not decide this request."


class SelfDealing(LedgerError):
    """Back-office money may not be credited to a wallet of the staff member proposing,
    approving or posting it."""

    status_code = status.HTTP_403_FORBIDDEN
    code = "self_dealing"
    default_detail = "You cannot credit your own wallet."


class ReversalAlreadyRequested(LedgerError):
    """A reversal of this transaction is already waiting for approval."""

    status_code = status.HTTP_409_CONFLICT
    code = "reversal_pending"
    default_detail = "A reversal of this transaction is already waiting for approval."


class ReasonRequired(LedgerError):
    """Back-office money operations need a written reason."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = "required"
    default_detail = "A reason is required."
    attr = "reason"
