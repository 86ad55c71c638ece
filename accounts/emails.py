"""Account emails: rendered from ``templates/emails/`` (text + HTML), sent through Django's
email API (console in development, django-anymail in production). Called from Celery tasks only.

Links point at ``FRONTEND_URL`` when set, else at this server's own pages on ``PUBLIC_BASE_URL``
— never at a request's Host header. A password-reset token travels in the URL fragment, which
browsers never send to a server, so no access log or proxy ever records a usable one.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from accounts.email_tokens import Purpose, email_token_make
from accounts.models import User

# Pages of the front end (FRONTEND_URL) and, by default, the API endpoints that consume a link.
_FRONTEND_PATHS = {
    Purpose.VERIFY_EMAIL: "/verify-email",
    Purpose.RESET_PASSWORD: "/reset-password",
    Purpose.CHANGE_EMAIL: "/confirm-email-change",
}
_API_ROUTES = {
    Purpose.VERIFY_EMAIL: "auth-verify-email",
    Purpose.RESET_PASSWORD: "reset-password-page",
    Purpose.CHANGE_EMAIL: "auth-confirm-email-change",
}
# Purposes whose link only shows a form: the token goes in the fragment, not the query.
_FRAGMENT_PURPOSES = frozenset({Purpose.RESET_PASSWORD})


def email_link(*, purpose: Purpose, token: str) -> str:
    if settings.FRONTEND_URL:
        base = settings.FRONTEND_URL + _FRONTEND_PATHS[purpose]
    else:
        base = settings.PUBLIC_BASE_URL + reverse(_API_ROUTES[purpose])
    separator = "#" if purpose in _FRAGMENT_PURPOSES else "?"
    return f"{base}{separator}{urlencode({'token': token})}"


def _send(*, template: str, to: str, context: dict[str, Any]) -> None:
    context = {"product_name": "VaultCore", **context}
    subject = " ".join(render_to_string(f"emails/{template}_subject.txt", context).split())
    text = render_to_string(f"emails/{template}.txt", context)
    html = render_to_string(f"emails/{template}.html", context)
    message = EmailMultiAlternatives(subject=subject, body=text, to=[to])
    message.attach_alternative(html, "text/html")
    message.send()


def verification_email_send(*, user: User) -> None:
    token = email_token_make(user=user, purpose=Purpose.VERIFY_EMAIL)
    _send(
        template="verify_email",
        to=user.email,
        context={
            "user": user,
            "link": email_link(purpose=Purpose.VERIFY_EMAIL, token=token),
            "valid_hours": settings.EMAIL_VERIFICATION_TOKEN_MAX_AGE // 3600,
        },
    )


def password_reset_email_send(*, user: User) -> None:
    token = email_token_make(user=user, purpose=Purpose.RESET_PASSWORD)
    _send(
        template="password_reset",
        to=user.email,
        context={
            "user": user,
            "link": email_link(purpose=Purpose.RESET_PASSWORD, token=token),
            "token": token,
            "valid_minutes": settings.PASSWORD_RESET_TOKEN_MAX_AGE // 60,
        },
    )


def email_change_emails_send(*, user: User, new_email: str) -> None:
    """The confirmation link to the new address and a notice (no link) to the current one."""
    token = email_token_make(user=user, purpose=Purpose.CHANGE_EMAIL, new_email=new_email)
    _send(
        template="email_change_confirm",
        to=new_email,
        context={
            "user": user,
            "new_email": new_email,
            "link": email_link(purpose=Purpose.CHANGE_EMAIL, token=token),
            "valid_hours": settings.EMAIL_CHANGE_TOKEN_MAX_AGE // 3600,
        },
    )
    _send(template="email_change_notice", to=user.email, context={"user": user, "new_email": new_email})
