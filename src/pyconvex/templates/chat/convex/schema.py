"""The chat app's schema: the guide's tables, in Python."""

from pyconvex import define_schema, define_table, v

schema = define_schema(
    {
        "messages": define_table(
            {
                "text": v.string(),
                "userId": v.id("users"),
                "channelId": v.id("channels"),
                "createdAt": v.number(),
                "reactions": v.optional(
                    v.array(v.object({"emoji": v.string(), "userId": v.id("users")}))
                ),
            }
        )
        .index("by_channel", ["channelId", "createdAt"])
        .index("by_user", ["userId"]),
        "users": define_table(
            {
                "name": v.string(),
                "email": v.string(),
                "tokenIdentifier": v.string(),
                "avatar": v.optional(v.string()),
                "role": v.union(v.literal("admin"), v.literal("user")),
                "createdAt": v.number(),
            }
        )
        .index("by_email", ["email"])
        .index("by_token_identifier", ["tokenIdentifier"]),
        "channels": define_table(
            {
                "name": v.string(),
                "description": v.optional(v.string()),
                "isPrivate": v.boolean(),
                "memberIds": v.array(v.id("users")),
                "createdAt": v.number(),
            }
        ).index("by_name", ["name"]),
        "tasks": define_table(
            {
                "title": v.string(),
                "description": v.optional(v.string()),
                "status": v.union(v.literal("todo"), v.literal("in_progress"), v.literal("done")),
                "assigneeId": v.optional(v.id("users")),
                "dueDate": v.optional(v.number()),
                "tags": v.array(v.string()),
                "createdAt": v.number(),
                "updatedAt": v.number(),
            }
        )
        .index("by_status", ["status"])
        .index("by_assignee", ["assigneeId"])
        .index("by_due_date", ["dueDate"]),
        # Not in the guide's schema, used by its file functions (files.save).
        "files": define_table(
            {
                "storageId": v.id("_storage"),
                "name": v.string(),
                "type": v.string(),
                "uploadedAt": v.number(),
            }
        ).index("by_storage_id", ["storageId"]),
        # Not in the guide: what reports.generateWeekly writes.
        "reports": define_table(
            {
                "kind": v.literal("weekly"),
                "createdAt": v.number(),
                "tasksByStatus": v.record(v.string(), v.number()),
                "messagesLastWeek": v.number(),
            }
        ).index("by_created_at", ["createdAt"]),
    }
)
