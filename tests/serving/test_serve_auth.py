"""Auth that fails closed (issue 13, item 6): `flowgen serve` refuses an open API on an address other machines
reach unless --allow-open, and warns whenever it is open; token grants load in both forms."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from flowgen.cli import app
from flowgen.errors import FlowGenError
from flowgen.settings import ServingSettings
from flowgen.tokens import ALL_SCOPES, TENANT_SCOPES
from serving import cli as serving_cli


def test_no_tokens_on_a_network_address_is_refused_unless_allowed_and_open_is_warned() -> None:
    for host in ("0.0.0.0", "::", "10.1.2.3", "flowgen.internal"):
        with pytest.raises(FlowGenError, match="refusing to serve without tokens"):
            serving_cli.exposure(ServingSettings(host=host), allow_open=False)
        assert "anyone who reaches" in (serving_cli.exposure(ServingSettings(host=host), allow_open=True) or "")
    for host in ("127.0.0.1", "::1", "localhost"):
        assert "no tokens" in (serving_cli.exposure(ServingSettings(host=host), allow_open=False) or "")
    assert serving_cli.exposure(ServingSettings(host="0.0.0.0", tokens={"t": "*"}), allow_open=False) is None


def test_flowgen_serve_exits_before_starting_anything(monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[object] = []
    monkeypatch.setattr(serving_cli, "start", started.append)
    monkeypatch.setenv("FLOWGEN_SERVING__HOST", "0.0.0.0")
    refused = CliRunner().invoke(app, ["serve"])
    assert refused.exit_code == 2 and "--allow-open" in refused.output and started == []


def test_token_grants_load_in_both_forms_and_metrics_auth_needs_tokens() -> None:
    tokens = ServingSettings(tokens={"a": "*", "r": "retail", "d": {"name": "dash", "tenant": "retail",
                                                                     "scopes": ["read_catalog"]}}).tokens  # fmt: skip
    assert (tokens["a"].name, tokens["a"].scopes) == ("admin", ALL_SCOPES)
    assert (tokens["r"].name, tokens["r"].tenant, tokens["r"].scopes) == ("token of retail", "retail", TENANT_SCOPES)
    assert tokens["d"].scopes == {"read_catalog"}
    for bad in ({"t": "../x"}, {"t": {"name": "x", "tenant": "retail", "scopes": ["root"]}}):
        with pytest.raises(ValidationError):
            ServingSettings(tokens=bad)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="metrics_auth needs tokens"):
        ServingSettings(metrics_auth=True)
