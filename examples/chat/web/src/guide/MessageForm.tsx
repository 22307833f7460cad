import { useMutation } from "convex/react";
import { api } from "../../../convex/_generated/api";
import { useState } from "react";

export function MessageForm({ channelId }: { channelId: string }) {
  const [text, setText] = useState("");
  const createMessage = useMutation(api.messages.create);

  const handleSubmit = async (e: React.FormEvent) => {
    e.preventDefault();

    await createMessage({ text, channelId });
    setText("");
  };

  return (
    <form onSubmit={handleSubmit}>
      <input
        value={text}
        onChange={(e) => setText(e.target.value)}
        placeholder="Type a message..."
      />
      <button type="submit">Send</button>
    </form>
  );
}
