import { useQuery } from "convex/react";
import { api } from "../../../convex/_generated/api";

export function MessageList({ channelId }: { channelId: string }) {
  // Automatically subscribes to real-time updates
  const messages = useQuery(api.messages.list, { channelId });

  if (messages === undefined) {
    return <div>Loading...</div>;
  }

  return (
    <div>
      {messages.map((message) => (
        <div key={message._id}>
          <strong>{message.user?.name}:</strong> {message.text}
        </div>
      ))}
    </div>
  );
}
