"""factory_boy factories for accounts. Call ``UserFactory.create()`` (typed) in tests."""

import factory
from factory.django import DjangoModelFactory

from accounts.models import Role, User

DEFAULT_PASSWORD = "correct-horse-battery-staple-42"


class UserFactory(DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    role = Role.USER
    is_email_verified = True
    password = factory.django.Password(DEFAULT_PASSWORD)


class StaffFactory(UserFactory):
    role = Role.STAFF


class AdminFactory(UserFactory):
    role = Role.ADMIN


class SuperuserFactory(UserFactory):
    role = Role.SUPERUSER
