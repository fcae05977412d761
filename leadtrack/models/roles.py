"""Roles and privileges, from the source documents' five-level hierarchy."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    SUPER_ADMIN = "super_admin"
    ORG_ADMIN = "org_admin"
    MANAGER = "manager"
    AGENT = "agent"
    RECEPTIONIST = "receptionist"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.SUPER_ADMIN: "Super admin",
    Role.ORG_ADMIN: "Organization admin",
    Role.MANAGER: "Manager",
    Role.AGENT: "Agent",
    Role.RECEPTIONIST: "Receptionist",
}


class Privilege(StrEnum):
    EXPORT_LEADS = "export_leads"
    REASSIGN_LEADS = "reassign_leads"
    MANAGE_RULES = "manage_rules"
    MANAGE_USERS = "manage_users"
    VIEW_REPORTS = "view_reports"
    SEE_UNASSIGNED_QUEUE = "see_unassigned_queue"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


_ALL = frozenset(Privilege)

ROLE_PRIVILEGES: dict[Role, frozenset[Privilege]] = {
    Role.SUPER_ADMIN: _ALL,
    Role.ORG_ADMIN: _ALL,
    Role.MANAGER: frozenset(
        {
            Privilege.EXPORT_LEADS,
            Privilege.REASSIGN_LEADS,
            Privilege.VIEW_REPORTS,
            Privilege.SEE_UNASSIGNED_QUEUE,
        }
    ),
    Role.AGENT: frozenset(),
    Role.RECEPTIONIST: frozenset({Privilege.SEE_UNASSIGNED_QUEUE, Privilege.REASSIGN_LEADS}),
}

ORG_ROLES = (Role.ORG_ADMIN, Role.MANAGER, Role.AGENT, Role.RECEPTIONIST)
