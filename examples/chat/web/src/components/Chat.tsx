import { insertAtTop, useMutation, usePaginatedQuery, useQuery } from "convex/react";
import type { FunctionReturnType } from "convex/server";
import { useState } from "react";
import { api } from "../../../convex/_generated/api";
import type { Doc, Id } from "../../../convex/_generated/dataModel";
import { useCurrentUser } from "../auth";
import { errorText } from "../errors";

/** Messages shown at first and added by each "Load more". */
export const PAGE_SIZE = 15;
const EMOJIS = ["👍", "❤️", "😂"];

type Message = FunctionReturnType<typeof api.messages.paginated>["page"][number];

/** One channel: its messages (newest at the bottom, older ones on demand), search, and the form. */
export function Chat({ channelId }: { channelId: Id<"channels"> }) {
  const me = useCurrentUser();
  const { results, status, loadMore } = usePaginatedQuery(
    api.messages.paginated,
    { channelId },
    { initialNumItems: PAGE_SIZE }
  );
  return (
    <section className="chat">
      <Search channelId={channelId} />
      <div className="messages" data-testid="messages">
        {status === "CanLoadMore" && (
          <button className="load-more" data-testid="load-more" onClick={() => loadMore(PAGE_SIZE)}>
            Load more
          </button>
        )}
        {status === "LoadingMore" && <p className="hint">Loading…</p>}
        {status === "LoadingFirstPage" && <p className="hint">Loading…</p>}
        {status === "Exhausted" && results.length > 0 && <p className="hint">The beginning of the channel.</p>}
        {[...results].reverse().map((message) => (
          <MessageRow key={message._id} message={message} me={me} />
        ))}
      </div>
      <SendForm channelId={channelId} me={me} />
    </section>
  );
}

function MessageRow({ message, me }: { message: Message; me: Doc<"users"> | null | undefined }) {
  const addReaction = useMutation(api.messages.addReaction);
  const update = useMutation(api.messages.update);
  const remove = useMutation(api.messages.remove);
  const [editing, setEditing] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const mine = me != null && me._id === message.userId;

  const attempt = async (call: () => Promise<unknown>) => {
    setError(null);
    try {
      await call();
    } catch (failure) {
      setError(errorText(failure));
    }
  };

  const counts = new Map<string, number>();
  for (const reaction of message.reactions ?? []) {
    counts.set(reaction.emoji, (counts.get(reaction.emoji) ?? 0) + 1);
  }

  return (
    <div className="message" data-testid="message" data-id={message._id}>
      <strong className="author">{message.user?.name ?? "someone"}</strong>{" "}
      {editing === null ? (
        <span className="text" data-testid="message-text">
          {message.text}
        </span>
      ) : (
        <form
          className="edit"
          onSubmit={(event) => {
            event.preventDefault();
            void attempt(() => update({ id: message._id, text: editing })).then(() => setEditing(null));
          }}
        >
          <input value={editing} onChange={(e) => setEditing(e.target.value)} data-testid="edit-input" />
          <button type="submit">Save</button>
        </form>
      )}
      <span className="reactions">
        {[...counts].map(([emoji, count]) => (
          <span key={emoji} className="reaction" data-testid="reaction">
            {emoji} {count}
          </span>
        ))}
        {EMOJIS.map((emoji) => (
          <button
            key={emoji}
            className="react"
            title={`React with ${emoji}`}
            onClick={() => void attempt(() => addReaction({ messageId: message._id, emoji }))}
          >
            +{emoji}
          </button>
        ))}
      </span>
      {mine && editing === null && (
        <span className="own">
          <button onClick={() => setEditing(message.text)} data-testid="edit">
            Edit
          </button>
          <button onClick={() => void attempt(() => remove({ id: message._id }))} data-testid="delete">
            Delete
          </button>
        </span>
      )}
      {error && <span className="error">{error}</span>}
    </div>
  );
}

/** The message box. Sending shows the message at once (an optimistic update) and the
 * server's version replaces it when the mutation is done. */
function SendForm({ channelId, me }: { channelId: Id<"channels">; me: Doc<"users"> | null | undefined }) {
  const [text, setText] = useState("");
  const [error, setError] = useState<string | null>(null);
  const send = useMutation(api.messages.create).withOptimisticUpdate((store, args) => {
    const user = store.getQuery(api.users.me, {});
    if (!user) {
      return; // signed out: the server refuses it, nothing to show
    }
    const now = Date.now();
    insertAtTop({
      paginatedQuery: api.messages.paginated,
      argsToMatch: { channelId: args.channelId },
      localQueryStore: store,
      item: {
        _id: crypto.randomUUID() as Id<"messages">,
        _creationTime: now,
        text: args.text,
        userId: user._id,
        channelId: args.channelId as Id<"channels">,
        createdAt: now,
        user,
      },
    });
  });
  const signedOut = me === null;
  return (
    <form
      className="send"
      onSubmit={async (event) => {
        event.preventDefault();
        setError(null);
        const sent = text;
        setText("");
        try {
          await send({ text: sent, channelId });
        } catch (failure) {
          setText(sent);
          setError(errorText(failure));
        }
      }}
    >
      <input
        value={text}
        onChange={(e) => setText(e.target.value)}
        placeholder={signedOut ? "Sign in to post messages" : "Type a message…"}
        disabled={signedOut}
        data-testid="message-input"
      />
      <button type="submit" disabled={signedOut || !text.trim()} data-testid="send">
        Send
      </button>
      {error && <span className="error">{error}</span>}
    </form>
  );
}

/** Messages of this channel containing a term (as you type). */
function Search({ channelId }: { channelId: Id<"channels"> }) {
  const [term, setTerm] = useState("");
  const found = useQuery(api.messages.search, term ? { channelId, searchTerm: term } : "skip");
  return (
    <div className="search">
      <input
        type="search"
        placeholder="Search this channel"
        value={term}
        onChange={(e) => setTerm(e.target.value)}
        data-testid="search"
      />
      {term && (
        <ul className="results" data-testid="search-results">
          {found === undefined && <li className="hint">Searching…</li>}
          {found?.length === 0 && <li className="hint">Nothing found.</li>}
          {found?.map((message) => (
            <li key={message._id} data-testid="search-result">
              {message.text}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
