"""How people get into a sample organization: invitations, guest invites, join requests.

Kept together because they are the rows an exporter must treat most carefully: a pending
invitation's id is an accept-link token and guest invite tokens are secrets, so both are
recorded as canaries for the leak checks.
"""

from __future__ import annotations

import json
from datetime import timedelta

from ocomms_pipeline.sandbox.samples.rows import Rows
from ocomms_pipeline.sandbox.samples.specs import Org


def add_access_requests(rows: Rows, org: Org) -> None:
    """Invitations (pending ids are accept-link tokens), guest invites and a join request."""
    lead = org.uid(org.regulars[0])
    org.pending_invitation = rows.nanoid(f"invitations/{org.spec.slug}/pending", "CANARYinv")
    rows.canaries["invitations.id"].append(org.pending_invitation)
    org.accepted_invitation = rows.nanoid(f"invitations/{org.spec.slug}/accepted")
    invitations = (
        (org.pending_invitation, f"newcomer+{org.spec.slug}@example.net", "pending"),
        (org.accepted_invitation, f"{org.regulars[-1]}@example.com", "accepted"),
    )
    for invitation_id, email, status in invitations:
        at = rows.now()
        rows.add(
            "invitations",
            org.name,
            id=invitation_id,
            email=email,
            organization_id=org.id,
            inviter_id=lead,
            role="member",
            status=status,
            expires_at=at + timedelta(days=7),
            created_at=at,
        )
    _add_guest_invites(rows, org)
    _add_join_request(rows, org)


def _add_guest_invites(rows: Rows, org: Org) -> None:
    lead, guest = org.uid(org.regulars[0]), org.uid(org.spec.guest)
    for used in (True, False):
        at = rows.now()
        rows.add(
            "guest_invites",
            org.name,
            organization_id=org.id,
            token=rows.secret("guest_invites.token", f"{org.spec.slug}-{used}"),
            created_by=lead,
            expires_at=at + timedelta(days=14),
            channel_ids=json.dumps([str(org.channels["general"])]),
            used_by=guest if used else None,
            used_at=at + timedelta(hours=1) if used else None,
            created_at=at,
        )


def _add_join_request(rows: Rows, org: Org) -> None:
    handle, status = org.spec.join_request
    at = rows.now()
    reviewed = status != "pending"
    rows.add(
        "workspace_join_requests",
        org.name,
        id=rows.nanoid(f"workspace_join_requests/{org.spec.slug}/{handle}"),
        user_id=org.uid(handle),
        organization_id=org.id,
        message="Please let me in — I'm on the 🚀 team",
        status=status,
        rejection_reason="Not an employee" if status == "rejected" else None,
        created_at=at,
        reviewed_at=at + timedelta(hours=3) if reviewed else None,
        reviewed_by=org.uid(org.regulars[0]) if reviewed else None,
    )
