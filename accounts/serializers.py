"""Input and output serializers of the accounts API. Validation of shape only; the services
own the rules (uniqueness, password strength, role hierarchy)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from accounts.models import Role, User
from accounts.validators import (
    UsernameValidator,
    identifier_normalize,
    validate_username_not_reserved,
    validate_username_unambiguous,
)

NAME_MAX = 150
PASSWORD_MAX = 128
TOKEN_MAX = 1024


class UserSerializer(serializers.ModelSerializer[User]):
    """The contract's user object."""

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "email",
            "first_name",
            "middle_name",
            "last_name",
            "role",
            "is_email_verified",
            "date_joined",
        ]
        read_only_fields = fields


class IdentifierField(serializers.CharField):
    """A username or email as typed, in its canonical (NFKC) form before any validator runs."""

    def to_internal_value(self, data: Any) -> str:
        return identifier_normalize(super().to_internal_value(data))


class RegisterInputSerializer(serializers.Serializer):
    username = IdentifierField(
        max_length=150,
        validators=[UsernameValidator(), validate_username_not_reserved, validate_username_unambiguous],
    )
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=PASSWORD_MAX, trim_whitespace=False, write_only=True)
    first_name = serializers.CharField(max_length=NAME_MAX)
    last_name = serializers.CharField(max_length=NAME_MAX)
    middle_name = serializers.CharField(max_length=NAME_MAX, required=False, allow_blank=True, default="")


class LoginInputSerializer(serializers.Serializer):
    username = IdentifierField(max_length=254, help_text="Username or email address.")
    password = serializers.CharField(max_length=PASSWORD_MAX, trim_whitespace=False, write_only=True)


class TokenPairOutputSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()
    token_type = serializers.CharField(default="Bearer")
    expires_in = serializers.IntegerField(help_text="Seconds until the access token expires.")


class RefreshInputSerializer(serializers.Serializer):
    refresh = serializers.CharField(
        max_length=TOKEN_MAX, required=False, help_text="Optional: the `refresh_token` cookie is used otherwise."
    )


class RefreshOutputSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class LogoutInputSerializer(RefreshInputSerializer):
    pass


class ChangePasswordInputSerializer(serializers.Serializer):
    old_password = serializers.CharField(max_length=PASSWORD_MAX, trim_whitespace=False, write_only=True)
    new_password = serializers.CharField(max_length=PASSWORD_MAX, trim_whitespace=False, write_only=True)


class DetailOutputSerializer(serializers.Serializer):
    detail = serializers.CharField()


class TokenQuerySerializer(serializers.Serializer):
    token = serializers.CharField(max_length=TOKEN_MAX)


class ForgotPasswordInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)


class ResetPasswordConfirmInputSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=TOKEN_MAX)
    new_password = serializers.CharField(max_length=PASSWORD_MAX, trim_whitespace=False, write_only=True)


class EmailChangeInputSerializer(serializers.Serializer):
    new_email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=PASSWORD_MAX, trim_whitespace=False, write_only=True)


class MeUpdateInputSerializer(serializers.Serializer):
    """Name fields only; any other field in the body is ignored."""

    first_name = serializers.CharField(max_length=NAME_MAX, allow_blank=True)
    middle_name = serializers.CharField(max_length=NAME_MAX, allow_blank=True, required=False, default="")
    last_name = serializers.CharField(max_length=NAME_MAX, allow_blank=True)


class UserListQuerySerializer(serializers.Serializer):
    search = serializers.CharField(max_length=254, required=False, allow_blank=True)


class RoleChangeInputSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)
