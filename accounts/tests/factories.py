"""factory_boy factories for accounts."""

import factory
from factory.django import DjangoModelFactory

from accounts.models import Role, User

DEFAULT_PASSWORD = "correct-horse-battery-staple-42"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    role = Role.USER
    is_email_verified = True
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @factory.post_generation
    def _save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save(update_fields=["password"])


class StaffFactory(UserFactory):
    role = Role.STAFF


class AdminFactory(UserFactory):
    role = Role.ADMIN


class SuperuserFactory(UserFactory):
    role = Role.SUPERUSER
