"""Which requests are this installation's: team, Enterprise Grid organization and app."""

from __future__ import annotations

from bot.handlers.installation import Installation

WORKSPACE = Installation(team_id="T1", app_id="A1")
GRID_WORKSPACE = Installation(team_id="T1", enterprise_id="E1", app_id="A1")
ORG_INSTALL = Installation(
    team_id=None, enterprise_id="E1", app_id="A1", is_enterprise_install=True
)


def test_from_auth_test() -> None:
    found = Installation.from_auth_test(
        {"team_id": "T1", "app_id": "A1", "enterprise_id": "", "is_enterprise_install": False}
    )
    assert found == WORKSPACE


def test_commands_clicks_and_events_of_this_workspace_are_ours() -> None:
    assert WORKSPACE.mismatch({"team_id": "T1", "api_app_id": "A1", "command": "/pay"}) is None
    assert WORKSPACE.mismatch({"type": "block_actions", "team": {"id": "T1"}}) is None
    assert WORKSPACE.mismatch({"type": "url_verification", "challenge": "x"}) is None


def test_another_team_app_or_organization_is_named() -> None:
    assert WORKSPACE.mismatch({"team_id": "T2", "command": "/pay"}) == "team T2"
    assert WORKSPACE.mismatch({"team": {"id": "T2"}, "type": "block_actions"}) == "team T2"
    assert WORKSPACE.mismatch({"team_id": "T1", "api_app_id": "A2"}) == "app A2"
    assert WORKSPACE.mismatch({"team_id": "T1", "enterprise_id": "E9"}) == "organization E9"
    grid_click = {"type": "block_actions", "team": {"id": "T1", "enterprise_id": "E9"}}
    assert GRID_WORKSPACE.mismatch(grid_click) == "organization E9"
    assert (
        GRID_WORKSPACE.mismatch({**grid_click, "team": {"id": "T1", "enterprise_id": "E1"}}) is None
    )


def test_a_shared_channel_event_is_ours_by_its_authorizations() -> None:
    event = {
        "type": "event_callback",
        "team_id": "T2",  # the workspace the event happened in
        "authorizations": [{"team_id": "T1", "is_bot": True}],
    }
    assert WORKSPACE.mismatch(event) is None
    assert WORKSPACE.mismatch({**event, "authorizations": [{"team_id": "T3"}]}) == "team T3"


def test_an_org_install_answers_every_workspace_of_its_organization_only() -> None:
    assert ORG_INSTALL.mismatch({"team": {"id": "T7", "enterprise_id": "E1"}}) is None
    assert ORG_INSTALL.mismatch({"team": None, "enterprise": {"id": "E1"}}) is None
    assert ORG_INSTALL.mismatch({"team": {"id": "T7"}, "enterprise": {"id": "E2"}}) == (
        "organization E2"
    )
