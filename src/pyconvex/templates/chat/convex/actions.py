"""The guide's actions: email, AI categorization and a webhook.

The outside services' URLs and keys come from the deployment's environment
variables (``pyconvex env set``), so tests and self-hosters can point them
anywhere: ``EMAIL_API_URL`` + ``SENDGRID_API_KEY``, ``AI_API_URL`` +
``ANTHROPIC_API_KEY``.
"""

from typing import Any

import httpx

from pyconvex import action, env, v

from ._generated.api import api, internal

SENDGRID_URL = "https://api.sendgrid.com/v3/mail/send"
ANTHROPIC_URL = "https://api.anthropic.com/v1/messages"


@action(args={"to": v.string(), "subject": v.string(), "body": v.string()})
async def sendEmail(ctx: Any, args: dict[str, Any]) -> dict[str, bool]:
    """Send an email through SendGrid's API (or whatever EMAIL_API_URL points to)."""
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(
            env.get("EMAIL_API_URL", SENDGRID_URL),
            headers={"Authorization": f"Bearer {env.get('SENDGRID_API_KEY', '')}"},
            json={
                "personalizations": [{"to": [{"email": args["to"]}]}],
                "from": {"email": "noreply@example.com"},
                "subject": args["subject"],
                "content": [{"type": "text/plain", "value": args["body"]}],
            },
        )
    if not response.is_success:
        raise RuntimeError("Failed to send email")
    return {"success": True}


@action(args={"taskId": v.id("tasks")})
async def categorizeTask(ctx: Any, args: dict[str, Any]) -> dict[str, str]:
    """Ask an AI model whether a task is urgent, important or routine, and tag it."""
    task = await ctx.run_query(api.tasks.get, {"id": args["taskId"]})
    if task is None:
        raise RuntimeError("Task not found")
    async with httpx.AsyncClient(timeout=60) as http:
        response = await http.post(
            env.get("AI_API_URL", ANTHROPIC_URL),
            headers={
                "x-api-key": env.get("ANTHROPIC_API_KEY", ""),
                "anthropic-version": "2023-06-01",
            },
            json={
                "model": "claude-3-5-sonnet-20241022",
                "max_tokens": 1024,
                "messages": [
                    {
                        "role": "user",
                        "content": f'Categorize this task: "{task["title"]}". Return only one '
                        "word: urgent, important, or routine.",
                    }
                ],
            },
        )
    response.raise_for_status()
    category = response.json()["content"][0]["text"].strip().lower()
    await ctx.run_mutation(
        api.tasks.update, {"id": args["taskId"], "tags": [*task["tags"], category]}
    )
    return {"category": category}


@action(args={"event": v.string(), "data": v.any()})
async def handleWebhook(ctx: Any, args: dict[str, Any]) -> dict[str, bool]:
    """Process an outside event; ``user.created`` creates the user."""
    print("Webhook received:", args["event"])
    if args["event"] == "user.created":
        await ctx.run_mutation(
            internal.users.createFromWebhook,
            {"name": args["data"]["name"], "email": args["data"]["email"]},
        )
    return {"processed": True}
