import { useMutation, useQuery } from "convex/react";
import { useEffect, useState } from "react";
import { api } from "../../../convex/_generated/api";
import type { Id } from "../../../convex/_generated/dataModel";
import { errorText } from "../errors";

type Props = { selected: Id<"channels"> | null; onSelect: (id: Id<"channels">) => void };

/** The channel list (live) and a form to create one. */
export function Channels({ selected, onSelect }: Props) {
  const channels = useQuery(api.channels.list);
  const createChannel = useMutation(api.channels.create);
  const [name, setName] = useState("");
  const [error, setError] = useState<string | null>(null);

  // Open the first channel once the list arrives.
  useEffect(() => {
    if (selected === null && channels && channels.length > 0) {
      onSelect(channels[0]._id);
    }
  }, [channels, selected, onSelect]);

  return (
    <aside className="channels" data-testid="channels">
      <h2>Channels</h2>
      {channels === undefined && <p>Loading…</p>}
      <ul>
        {channels?.map((channel) => (
          <li key={channel._id}>
            <button
              className={channel._id === selected ? "active" : ""}
              onClick={() => onSelect(channel._id)}
              title={channel.description}
            >
              # {channel.name}
            </button>
          </li>
        ))}
      </ul>
      <form
        onSubmit={async (event) => {
          event.preventDefault();
          setError(null);
          try {
            onSelect(await createChannel({ name }));
            setName("");
          } catch (failure) {
            setError(errorText(failure));
          }
        }}
      >
        <input placeholder="New channel" value={name} onChange={(e) => setName(e.target.value)} />
        <button type="submit" disabled={!name}>
          Add
        </button>
      </form>
      {error && <p className="error">{error}</p>}
    </aside>
  );
}
