"""SSRF protection: which URLs may receive webhooks (name resolution mocked: no traffic leaves
the machine)."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from pytest_django.fixtures import Settings

from webhooks.network import UnsafeUrl, address_allowed, url_check


def resolving_to(*addresses: str) -> Any:
    def fake(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        family = socket.AF_INET6
        return [(family if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]

    return fake


@pytest.fixture
def no_exemptions(settings: Settings) -> Settings:
    settings.DEBUG = True  # plain http allowed: the address rules are what is tested
    settings.WEBHOOK_ALLOWED_PRIVATE_NETWORKS = []
    return settings


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://[::1]/hook",
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[::ffff:10.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "http://100.64.0.1/hook",
        "http://224.0.0.1/hook",
        "http://240.0.0.1/hook",
        "http://[fe80::1]/hook",
        "http://[fc00::1]/hook",
        "http://[2002:7f00:1::]/hook",
        "http://[64:ff9b::a00:1]/hook",
    ],
)
def test_non_public_addresses_are_refused(no_exemptions: Settings, url: str) -> None:
    with pytest.raises(UnsafeUrl):
        url_check(url)


def test_a_name_resolving_to_a_private_address_is_refused(
    no_exemptions: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", resolving_to("192.168.1.10"))
    with pytest.raises(UnsafeUrl):
        url_check("https://hooks.example.com/in")


def test_a_name_is_refused_when_any_of_its_addresses_is_private(
    no_exemptions: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", resolving_to("93.184.216.34", "10.1.2.3"))
    with pytest.raises(UnsafeUrl):
        url_check("https://hooks.example.com/in")


def test_a_public_name_is_accepted_and_its_checked_address_kept(
    no_exemptions: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", resolving_to("93.184.216.34"))
    target = url_check("https://hooks.example.com:8443/in?x=1")
    assert (target.host, target.port, target.path, target.addresses) == (
        "hooks.example.com",
        8443,
        "/in?x=1",
        ("93.184.216.34",),
    )
    assert target.host_header == "hooks.example.com:8443"


def test_http_is_refused_outside_debug(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.DEBUG = False
    monkeypatch.setattr(socket, "getaddrinfo", resolving_to("93.184.216.34"))
    with pytest.raises(UnsafeUrl, match="https"):
        url_check("http://hooks.example.com/in")
    assert url_check("https://hooks.example.com/in").scheme == "https"


@pytest.mark.parametrize("url", ["ftp://hooks.example.com/", "https://user:pw@hooks.example.com/", "https:///x"])
def test_other_schemes_credentials_and_missing_hosts_are_refused(no_exemptions: Settings, url: str) -> None:
    with pytest.raises(UnsafeUrl):
        url_check(url)


def test_unresolvable_names_are_refused(no_exemptions: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror("Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    with pytest.raises(UnsafeUrl):
        url_check("https://nowhere.invalid/")


def test_allowed_networks_exempt_exactly_those(settings: Settings) -> None:
    settings.WEBHOOK_ALLOWED_PRIVATE_NETWORKS = ["127.0.0.0/8"]
    assert address_allowed("127.0.0.1")
    assert address_allowed("::ffff:127.0.0.1")
    assert not address_allowed("::1")
    assert not address_allowed("10.0.0.1")
    assert not address_allowed("169.254.169.254")
    assert address_allowed("93.184.216.34")
