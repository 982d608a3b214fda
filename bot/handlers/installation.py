"""Which installation a request is for: this workspace, organization and app, or another.

A valid signature only says the request came through an app that knows our signing secret; the
ids inside say for whom. The installation is what auth.test said at start; the gate (gate.py)
refuses and audits a payload naming another team, Enterprise Grid organization or app before
anything reads it, and never calls its response_url.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Installation:
    team_id: str | None
    enterprise_id: str | None = None
    app_id: str | None = None
    is_enterprise_install: bool = False

    @classmethod
    def from_auth_test(cls, identity: dict[str, Any]) -> Installation:
        return cls(
            team_id=identity.get("team_id") or None,
            enterprise_id=identity.get("enterprise_id") or None,
            app_id=identity.get("app_id") or None,
            is_enterprise_install=bool(identity.get("is_enterprise_install")),
        )

    def mismatch(self, body: dict[str, Any]) -> str | None:
        """Why ``body`` is not for this installation (which id names whom), or None."""
        app_id = body.get("api_app_id")
        if app_id and self.app_id and app_id != self.app_id:
            return f"app {app_id}"
        enterprise = _enterprise_of(body)
        if enterprise is not None and enterprise != self.enterprise_id:
            return f"organization {enterprise}"
        if self.is_enterprise_install:
            return None  # an org-wide install answers every workspace of its organization
        teams = _teams_of(body)
        if teams and self.team_id not in teams:
            return f"team {sorted(teams)[0]}"
        return None


def _enterprise_of(body: dict[str, Any]) -> str | None:
    enterprise = body.get("enterprise")
    team = body.get("team")
    found = (
        body.get("enterprise_id")
        or (enterprise.get("id") if isinstance(enterprise, dict) else None)
        or (team.get("enterprise_id") if isinstance(team, dict) else None)
    )
    return str(found) if found else None


def _teams_of(body: dict[str, Any]) -> set[str]:
    """The teams a request speaks for. An event names the installations it is delivered to
    (``authorizations``), which a shared channel's other workspaces do not change."""
    if body.get("type") == "event_callback":
        authorized = {
            str(a["team_id"])
            for a in body.get("authorizations") or []
            if isinstance(a, dict) and a.get("team_id")
        }
        if authorized:
            return authorized
    team = body.get("team")
    found = body.get("team_id") or (team.get("id") if isinstance(team, dict) else None)
    return {str(found)} if found else set()
