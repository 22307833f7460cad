"""The generated TypeScript compiles, and its types are real: ``tsc`` rejects wrong calls.

The chat example's code is generated into a temporary project that resolves
``convex`` and ``react`` from tests/codegen/typescript/node_modules (pinned,
installed by scripts/install), and ``tsc --noEmit`` runs once over a file that
uses the API correctly and files that each make one mistake.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from pyconvex.codegen import write_generated
from pyconvex.functions.loader import load_app

ROOT = Path(__file__).parents[2]
NODE = Path(__file__).parent / "typescript"
TSC = NODE / "node_modules" / ".bin" / "tsc"
CHAT = ROOT / "examples" / "chat" / "convex"

TSCONFIG = {
    "compilerOptions": {
        "target": "ES2022",
        "lib": ["ES2022", "DOM"],
        "module": "ESNext",
        "moduleResolution": "Bundler",
        "strict": True,
        "noEmit": True,
        # Our generated .d.ts files are checked too, not only used.
        "skipLibCheck": False,
        "noUnusedLocals": True,
        "noUnusedParameters": True,
        "types": [],
    },
    "include": ["*.ts", "convex/_generated/*.ts", "plain/*.ts", "plain/convex/_generated/*.ts"],
}

PRELUDE = """\
import { ConvexHttpClient } from "convex/browser";
import { useAction, useMutation, usePaginatedQuery, useQuery } from "convex/react";
import { api, internal } from "./convex/_generated/api";
import type { Doc, Id } from "./convex/_generated/dataModel";

declare const client: ConvexHttpClient;
declare const channelId: string;
"""

GOOD = """
export async function viaHttp(): Promise<string[]> {
  const messages = await client.query(api.messages.list, { channelId });
  const lines: string[] = messages.map((m) => `${m.user?.name ?? "?"}: ${m.text}`);
  const id: Id<"messages"> = await client.mutation(api.messages.create, { text: "hi", channelId });
  const one: Doc<"messages"> | null = await client.query(api.messages.get, { id });
  const reactions = one?.reactions?.map((r) => r.emoji) ?? [];
  const tasks: Doc<"tasks">[] = await client.query(api.tasks.list, {});
  await client.mutation(api.tasks.update, { id: tasks[0]._id, status: "done" });
  const upload: string = await client.mutation(api.files.generateUploadUrl);
  const files = await client.query(api.files.list);
  const url: string | null = files[0].url;
  const sent = await client.action(api.actions.sendEmail, { to: "a", subject: "b", body: "c" });
  const ok: boolean = sent["success"];
  const me = await client.query(api.users.me, {});
  const role: "admin" | "user" | undefined = me?.role;
  const internalRef: string = internal.tasks.uncategorized._visibility;
  return [...lines, ...reactions, upload, url ?? "", String(ok), role ?? "", internalRef];
}

export function useChat(channel: Id<"channels">) {
  const messages = useQuery(api.messages.list, { channelId: channel });
  const email: string | undefined = messages?.[0]?.user?.email;
  const page = usePaginatedQuery(api.messages.paginated, { channelId }, { initialNumItems: 5 });
  const author: string | undefined = page.results[0]?.user?.name;
  const send = useMutation(api.messages.create).withOptimisticUpdate((store, args) => {
    const current = store.getQuery(api.messages.list, { channelId: args.channelId });
    if (current !== undefined) {
      store.setQuery(api.messages.list, { channelId: args.channelId }, current.slice(1));
    }
  });
  const categorize = useAction(api.actions.categorizeTask);
  return { email, author, send, categorize };
}
"""

MISTAKES = {
    "wrong_argument_name": (
        "client.query(api.messages.list, { channel: channelId });",
        "'channel' does not exist in type",
    ),
    "wrong_argument_type": (
        "client.query(api.messages.list, { channelId: 5 });",
        "Type 'number' is not assignable to type 'string",
    ),
    "missing_argument": ("client.mutation(api.messages.create, { channelId });", "'text'"),
    "wrong_status": (
        'client.mutation(api.tasks.update, { id: "t", status: "later" });',
        "Type '\"later\"' is not assignable",
    ),
    "misspelt_result_field": (
        "client.query(api.messages.list, { channelId }).then((m) => m[0].user?.nmae);",
        "Property 'nmae' does not exist",
    ),
    "result_used_as_the_wrong_type": (
        "client.query(api.tasks.list, {}).then((tasks) => { const n: number = tasks[0].title; });",
        "Type 'string' is not assignable to type 'number'",
    ),
    "internal_function_from_a_client": (
        "client.query(internal.tasks.uncategorized, {});",
        "not assignable",
    ),
    "mutation_used_as_a_query": (
        'useQuery(api.messages.create, { text: "", channelId });',
        "not assignable",
    ),
}

# An app without a schema: documents are untyped, functions still are.
PLAIN_APP = """
from pyconvex import query, v

@query(args={"x": v.number()})
def double(ctx, args) -> list[float]:
    return [args["x"] * 2]
"""

PLAIN_USE = """
import { ConvexHttpClient } from "convex/browser";
import { api } from "./convex/_generated/api";
import type { Doc, Id } from "./convex/_generated/dataModel";

declare const client: ConvexHttpClient;
export const doubled: Promise<number[]> = client.query(api.fns.double, { x: 1 });
export type AnyDoc = Doc<"anything">;
export type AnyId = Id<"anything">;
"""

_ERROR = re.compile(r"^(?P<file>[^(\s]+)\(\d+,\d+\): error TS\d+: (?P<message>.*)$")


@pytest.fixture(scope="module")
def tsc_errors(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """tsc's error messages by file, for the good file and every mistake."""
    if not TSC.exists():
        pytest.fail(f"{TSC} is missing: run ./scripts/install")
    project = tmp_path_factory.mktemp("tsc")
    app = load_app(CHAT)
    write_generated(project / "convex", app.registry, app.schema)
    (project / "node_modules").symlink_to(NODE / "node_modules", target_is_directory=True)
    (project / "tsconfig.json").write_text(json.dumps(TSCONFIG))
    (project / "good.ts").write_text(PRELUDE + GOOD)
    (project / "plain" / "convex").mkdir(parents=True)
    (project / "plain" / "convex" / "fns.py").write_text(PLAIN_APP)
    plain = load_app(project / "plain" / "convex")
    write_generated(project / "plain" / "convex", plain.registry, plain.schema)
    (project / "plain" / "use.ts").write_text(PLAIN_USE)
    for name, (line, _) in MISTAKES.items():
        (project / f"{name}.ts").write_text(
            f"{PRELUDE}\nexport function mistake() {{\n  {line}\n}}\n"
        )
    result = subprocess.run(
        [str(TSC), "-p", "tsconfig.json", "--pretty", "false"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
    )
    errors: dict[str, list[str]] = {}
    for line in result.stdout.splitlines():
        found = _ERROR.match(line)
        if found:
            errors.setdefault(found["file"], []).append(found["message"])
        else:  # continuation lines of the previous error's message
            last = list(errors.values())[-1] if errors else None
            if last is not None:
                last[-1] += " " + line.strip()
    return errors


def test_the_generated_api_compiles_and_types_right_usage(tsc_errors: dict[str, list[str]]) -> None:
    assert not [f for f in tsc_errors if f.removesuffix(".ts") not in MISTAKES], tsc_errors


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_tsc_rejects_each_mistake(tsc_errors: dict[str, list[str]], mistake: str) -> None:
    messages = tsc_errors.get(f"{mistake}.ts", [])
    assert any(MISTAKES[mistake][1] in message for message in messages), messages
