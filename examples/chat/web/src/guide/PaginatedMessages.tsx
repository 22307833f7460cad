import { usePaginatedQuery } from "convex/react";
import { api } from "../../../convex/_generated/api";

export function PaginatedMessages({ channelId }: { channelId: string }) {
  const { results, status, loadMore } = usePaginatedQuery(
    api.messages.paginated,
    { channelId },
    { initialNumItems: 20 }
  );

  return (
    <div>
      {results.map((message) => (
        <div key={message._id}>{message.text}</div>
      ))}

      {status === "CanLoadMore" && (
        <button onClick={() => loadMore(20)}>Load More</button>
      )}

      {status === "LoadingMore" && <div>Loading...</div>}
    </div>
  );
}
