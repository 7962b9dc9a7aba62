"""One declaration per table of the ocomms schema (drizzle snapshot, 42 tables).

Order matters only for readability and for the order files are written in; every scope is
resolved against the organization inside one snapshot, so no table depends on another's file.
"""

from __future__ import annotations

from ocomms_pipeline.catalog.model import (
    AnyOf,
    Column,
    ColumnType,
    InOrganization,
    NotExported,
    OwnershipRule,
    ReferencedBy,
    ReferencedUsers,
    Table,
    ThroughParent,
    Treatment,
)

T = ColumnType


def col(name: str, type_: ColumnType, references: str | None = None) -> Column:
    return Column(name, type_, references=references)


def user(name: str) -> Column:
    """A column holding a user id: every such user is carried into the bundle."""
    return Column(name, T.TEXT, references="users")


def ref(name: str, table: str) -> Column:
    return Column(name, T.UUID, references=table)


def secret(name: str, type_: ColumnType, reason: str) -> Column:
    return Column(name, type_, Treatment.SECRET, reason)


def internal(name: str, type_: ColumnType, reason: str) -> Column:
    return Column(name, type_, Treatment.INTERNAL, reason)


def created(*names: str, type_: ColumnType = T.TIMESTAMP) -> tuple[Column, ...]:
    return tuple(col(n, type_) for n in names)


def via(column: str, parent: str) -> ThroughParent:
    return ThroughParent(column, parent)


CHANNEL_OR_CONVERSATION = AnyOf(
    (via("channel_id", "channels"), via("conversation_id", "conversations"))
)
QUEUE_ID = "job queue id: internal plumbing of ocomms's scheduler"
GLOBAL_AUTH = "global authentication state of a user account, not organization data"

OWNERSHIP = OwnershipRule(
    organizations="organizations",
    organization_key="id",
    organization_name="name",
    members="members",
    member_organization="organization_id",
    member_user="user_id",
    member_role="role",
    member_is_guest="is_guest",
    owner_role="owner",
)

# fmt: off
TABLES: tuple[Table, ...] = (
    Table("organizations", InOrganization("id"), "The organization (workspace) itself.", (
        col("id", T.TEXT), col("name", T.TEXT), col("slug", T.TEXT), col("logo", T.TEXT),
        col("metadata", T.TEXT), *created("created_at"), col("join_policy", T.TEXT),
        col("description", T.TEXT),
    )),
    Table("members", InOrganization("organization_id"), "Memberships, roles and guest status.", (
        col("id", T.TEXT), user("user_id"), col("organization_id", T.TEXT), col("role", T.TEXT),
        *created("created_at"), col("is_guest", T.BOOLEAN), col("guest_expires_at", T.TIMESTAMP),
        col("guest_soft_locked", T.BOOLEAN), internal("guest_job_id", T.TEXT, QUEUE_ID),
    )),
    Table("users", ReferencedUsers("id"),
          "Every user the organization's rows mention: members, former members, authors.", (
        col("id", T.TEXT), col("name", T.TEXT), col("email", T.TEXT), col("email_verified", T.BOOLEAN),
        col("image", T.TEXT), *created("created_at", "updated_at"),
        internal("two_factor_enabled", T.BOOLEAN, "account security setting, global to the user"),
    )),
    Table("profiles", ReferencedUsers("user_id"), "Display names and bios of exported users.", (
        col("id", T.UUID), user("user_id"), col("display_name", T.TEXT), col("avatar_path", T.TEXT),
        col("bio", T.TEXT), *created("created_at", "updated_at"),
    )),
    Table("user_statuses", ReferencedUsers("user_id"), "Status text and emoji of exported users.", (
        col("id", T.UUID), user("user_id"), col("emoji", T.TEXT), col("text", T.TEXT),
        col("expires_at", T.TIMESTAMPTZ), col("dnd_enabled", T.BOOLEAN),
        internal("job_id", T.TEXT, QUEUE_ID), *created("created_at", "updated_at", type_=T.TIMESTAMPTZ),
    )),
    Table("invitations", InOrganization("organization_id"), "Email invitations to join.", (
        secret("id", T.TEXT, "a pending invitation's id is its accept-link token"),
        col("email", T.TEXT), col("organization_id", T.TEXT), user("inviter_id"), col("role", T.TEXT),
        col("status", T.TEXT), col("expires_at", T.TIMESTAMP), *created("created_at"),
    )),
    Table("workspace_join_requests", InOrganization("organization_id"), "Requests to join.", (
        col("id", T.TEXT), user("user_id"), col("organization_id", T.TEXT), col("message", T.TEXT),
        col("status", T.TEXT), col("rejection_reason", T.TEXT), *created("created_at", "reviewed_at"),
        user("reviewed_by"),
    )),
    Table("guest_invites", InOrganization("organization_id"), "Guest invitation links.", (
        col("id", T.UUID), col("organization_id", T.TEXT),
        secret("token", T.TEXT, "guest invite link token"), user("created_by"),
        col("expires_at", T.TIMESTAMP), col("channel_ids", T.TEXT), user("used_by"),
        *created("used_at", "created_at"),
    )),
    Table("channel_categories", InOrganization("organization_id"), "Sidebar channel categories.", (
        col("id", T.UUID), col("organization_id", T.TEXT), col("name", T.TEXT),
        col("sort_order", T.INTEGER), user("created_by"), *created("created_at", "updated_at"),
    )),
    Table("user_category_collapse_states", via("category_id", "channel_categories"),
          "Which categories each user keeps collapsed.", (
        col("id", T.UUID), user("user_id"), ref("category_id", "channel_categories"),
        col("is_collapsed", T.BOOLEAN), *created("updated_at"),
    )),
    Table("channels", InOrganization("organization_id"), "Public, private and archived channels.", (
        col("id", T.UUID), col("organization_id", T.TEXT), col("name", T.TEXT), col("slug", T.TEXT),
        col("description", T.TEXT), col("topic", T.TEXT), col("is_private", T.BOOLEAN),
        col("is_archived", T.BOOLEAN), col("archived_at", T.TIMESTAMP), user("archived_by"),
        ref("category_id", "channel_categories"), col("sort_order", T.INTEGER), user("created_by"),
        *created("created_at", "updated_at"),
    )),
    Table("channel_members", via("channel_id", "channels"), "Channel memberships.", (
        col("id", T.UUID), ref("channel_id", "channels"), user("user_id"), col("role", T.TEXT),
        *created("joined_at"),
    )),
    Table("guest_channel_access", via("channel_id", "channels"), "Channels a guest may see.", (
        col("id", T.UUID), col("member_id", T.TEXT, references="members"),
        ref("channel_id", "channels"), *created("granted_at"),
    )),
    Table("channel_notes", via("channel_id", "channels"), "Shared notes of a channel.", (
        col("id", T.UUID), ref("channel_id", "channels"), col("content", T.TEXT),
        col("version", T.INTEGER), user("updated_by"), *created("created_at", "updated_at"),
    )),
    Table("channel_notification_settings", via("channel_id", "channels"),
          "Per-user notification mode of a channel.", (
        col("id", T.UUID), ref("channel_id", "channels"), user("user_id"), col("mode", T.TEXT),
        *created("updated_at"),
    )),
    Table("conversations", InOrganization("organization_id"), "Direct and group conversations.", (
        col("id", T.UUID), col("organization_id", T.TEXT), col("is_group", T.BOOLEAN),
        col("name", T.TEXT), user("created_by"), *created("created_at", "updated_at"),
    )),
    Table("conversation_participants", via("conversation_id", "conversations"),
          "Who takes part in each conversation.", (
        col("id", T.UUID), ref("conversation_id", "conversations"), user("user_id"),
        *created("joined_at"),
    )),
    Table("messages", CHANNEL_OR_CONVERSATION, "Messages and thread replies.", (
        col("id", T.UUID), col("content", T.TEXT), user("author_id"), ref("channel_id", "channels"),
        ref("conversation_id", "conversations"), ref("parent_id", "messages"),
        col("reply_count", T.INTEGER), col("sequence", T.INTEGER),
        *created("deleted_at", "created_at", "updated_at"),
        internal("search_content", T.TSVECTOR, "full-text index derived from content"),
    )),
    Table("thread_participants", via("thread_id", "messages"), "Followers of each thread.", (
        col("id", T.UUID), ref("thread_id", "messages"), user("user_id"),
        *created("last_read_at", "joined_at"),
    )),
    Table("reactions", via("message_id", "messages"), "Emoji reactions to messages.", (
        col("id", T.UUID), ref("message_id", "messages"), user("user_id"), col("emoji", T.TEXT),
        *created("created_at"),
    )),
    Table("pinned_messages", via("channel_id", "channels"), "Messages pinned in channels.", (
        col("id", T.UUID), ref("message_id", "messages"), ref("channel_id", "channels"),
        user("pinned_by"), *created("pinned_at"),
    )),
    Table("file_attachments", via("message_id", "messages"), "Metadata of files on messages.", (
        col("id", T.UUID), ref("message_id", "messages"), col("filename", T.TEXT),
        col("original_name", T.TEXT), col("mime_type", T.TEXT), col("size_bytes", T.INTEGER),
        col("path", T.TEXT), col("is_image", T.BOOLEAN), user("uploaded_by"), *created("created_at"),
    )),
    Table("message_link_previews", via("message_id", "messages"), "Link previews on messages.", (
        col("id", T.UUID), ref("message_id", "messages"), ref("link_preview_id", "link_previews"),
        col("position", T.INTEGER), col("hidden", T.BOOLEAN),
    )),
    Table("link_previews", ReferencedBy("message_link_previews", "link_preview_id"),
          "Fetched page previews that the organization's messages show.", (
        col("id", T.UUID), col("url", T.TEXT), col("title", T.TEXT), col("description", T.TEXT),
        col("image_url", T.TEXT), col("site_name", T.TEXT),
        *created("fetched_at", "expires_at", type_=T.TIMESTAMPTZ),
    )),
    Table("notifications", AnyOf((
        via("channel_id", "channels"), via("conversation_id", "conversations"),
        ThroughParent("message_id", "messages", only_when_null=("channel_id", "conversation_id")),
    )), "Notifications delivered in the organization's channels and conversations.", (
        col("id", T.UUID), user("user_id"), col("type", T.TEXT), ref("message_id", "messages"),
        ref("channel_id", "channels"), ref("conversation_id", "conversations"), user("actor_id"),
        col("content", T.TEXT), *created("read_at", "created_at"),
    )),
    Table("channel_read_state", CHANNEL_OR_CONVERSATION, "Read positions per user.", (
        col("id", T.UUID), user("user_id"), ref("channel_id", "channels"),
        ref("conversation_id", "conversations"), col("last_read_sequence", T.INTEGER),
        col("marked_unread_at_sequence", T.INTEGER), *created("updated_at"),
    )),
    Table("scheduled_messages", CHANNEL_OR_CONVERSATION, "Messages scheduled for later.", (
        col("id", T.UUID), user("author_id"), col("content", T.TEXT), ref("channel_id", "channels"),
        ref("conversation_id", "conversations"), col("scheduled_for", T.TIMESTAMPTZ),
        col("status", T.ENUM), internal("job_id", T.TEXT, QUEUE_ID), ref("message_id", "messages"),
        col("error", T.TEXT), *created("sent_at", "created_at", "updated_at", type_=T.TIMESTAMPTZ),
    )),
    Table("reminders", via("message_id", "messages"), "Reminders users set on messages.", (
        col("id", T.UUID), user("user_id"), ref("message_id", "messages"), col("note", T.TEXT),
        col("remind_at", T.TIMESTAMPTZ), col("status", T.ENUM), col("recurring_pattern", T.ENUM),
        internal("job_id", T.TEXT, QUEUE_ID),
        *created("last_fired_at", "snoozed_until", "completed_at", "created_at", "updated_at",
                 type_=T.TIMESTAMPTZ),
    )),
    Table("bookmarks", AnyOf((via("message_id", "messages"), via("file_id", "file_attachments"))),
          "Messages and files users saved.", (
        col("id", T.UUID), user("user_id"), col("type", T.ENUM), ref("message_id", "messages"),
        ref("file_id", "file_attachments"), col("note", T.TEXT),
        *created("created_at", type_=T.TIMESTAMPTZ),
    )),
    Table("personal_notes", InOrganization("organization_id"), "Users' notes in this organization.", (
        col("id", T.UUID), user("user_id"), col("organization_id", T.TEXT), col("content", T.TEXT),
        col("version", T.INTEGER), *created("created_at", "updated_at"),
    )),
    Table("user_sidebar_preferences", InOrganization("organization_id"), "Sidebar layout per user.", (
        col("id", T.UUID), user("user_id"), col("organization_id", T.TEXT),
        col("preferences", T.JSONB), *created("created_at", "updated_at"),
    )),
    Table("custom_emojis", InOrganization("workspace_id"), "The organization's custom emoji.", (
        col("id", T.UUID), col("workspace_id", T.TEXT), col("name", T.TEXT), col("filename", T.TEXT),
        col("path", T.TEXT), col("mime_type", T.TEXT), col("size_bytes", T.INTEGER),
        col("is_animated", T.BOOLEAN), user("uploaded_by"), *created("created_at", type_=T.TIMESTAMPTZ),
    )),
    Table("user_groups", InOrganization("organization_id"), "Mentionable user groups.", (
        col("id", T.UUID), col("organization_id", T.TEXT), col("name", T.TEXT), col("handle", T.TEXT),
        col("description", T.TEXT), user("created_by"), *created("created_at", "updated_at"),
    )),
    Table("user_group_members", via("group_id", "user_groups"), "Members of user groups.", (
        col("id", T.UUID), ref("group_id", "user_groups"), user("user_id"), *created("added_at"),
    )),
    # ---- never exported -----------------------------------------------------------------
    Table("accounts", NotExported(GLOBAL_AUTH), "Login accounts and OAuth tokens.", (
        col("id", T.TEXT), user("user_id"), col("account_id", T.TEXT), col("provider_id", T.TEXT),
        secret("access_token", T.TEXT, "OAuth access token"),
        secret("refresh_token", T.TEXT, "OAuth refresh token"),
        col("access_token_expires_at", T.TIMESTAMP), col("refresh_token_expires_at", T.TIMESTAMP),
        col("scope", T.TEXT), secret("id_token", T.TEXT, "OAuth id token"),
        secret("password", T.TEXT, "password hash"), *created("created_at", "updated_at"),
    )),
    Table("sessions", NotExported(GLOBAL_AUTH), "Login sessions.", (
        col("id", T.TEXT), user("user_id"), secret("token", T.TEXT, "session token"),
        col("expires_at", T.TIMESTAMP), col("ip_address", T.TEXT), col("user_agent", T.TEXT),
        *created("created_at", "updated_at"),
    )),
    Table("verifications", NotExported(GLOBAL_AUTH), "Email verification and reset codes.", (
        col("id", T.TEXT), col("identifier", T.TEXT),
        secret("value", T.TEXT, "verification code"), col("expires_at", T.TIMESTAMP),
        *created("created_at", "updated_at"),
    )),
    Table("two_factor", NotExported(GLOBAL_AUTH), "TOTP secrets.", (
        col("id", T.TEXT), secret("secret", T.TEXT, "TOTP secret"),
        secret("backup_codes", T.TEXT, "2FA backup codes"), user("user_id"),
    )),
    Table("password_history", NotExported(GLOBAL_AUTH), "Previous password hashes.", (
        col("id", T.UUID), user("user_id"), secret("password_hash", T.TEXT, "password hash"),
        *created("created_at"),
    )),
    Table("user_lockouts", NotExported(GLOBAL_AUTH), "Failed-login lockout counters.", (
        user("user_id"), col("failed_attempts", T.INTEGER), col("last_failed_at", T.TIMESTAMP),
        col("locked_until", T.TIMESTAMP), col("lockout_count", T.INTEGER), *created("updated_at"),
    ), primary_key=("user_id",)),
    Table("push_subscriptions", NotExported("browser push endpoints and keys, global to a user"),
          "Web push subscriptions.", (
        col("id", T.UUID), user("user_id"), col("endpoint", T.TEXT),
        secret("p256dh", T.TEXT, "push encryption key"), secret("auth", T.TEXT, "push auth secret"),
        col("user_agent", T.TEXT), *created("created_at"),
    )),
    Table("user_storage", NotExported("storage quota across all of a user's organizations"),
          "Per-user storage accounting.", (
        user("user_id"), col("used_bytes", T.BIGINT), col("quota_bytes", T.BIGINT),
        *created("updated_at"),
    ), primary_key=("user_id",)),
)
# fmt: on
