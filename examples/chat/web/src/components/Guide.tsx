import type { Id } from "../../../convex/_generated/dataModel";
import { EmailButton } from "../guide/EmailButton";
import { FileUpload } from "../guide/FileUpload";
import { MessageForm } from "../guide/MessageForm";
import { MessageList } from "../guide/MessageList";
import { PaginatedMessages } from "../guide/PaginatedMessages";

/** The Convex guide's frontend snippets, as written, against this backend. */
export function Guide({ channelId }: { channelId: Id<"channels"> }) {
  return (
    <section className="guide" data-testid="guide">
      <h3>MessageList</h3>
      <MessageList channelId={channelId} />
      <h3>MessageForm</h3>
      <MessageForm channelId={channelId} />
      <h3>PaginatedMessages</h3>
      <PaginatedMessages channelId={channelId} />
      <h3>EmailButton</h3>
      <EmailButton to="team@example.com" subject="Hello" body="Sent from the chat example" />
      <h3>FileUpload</h3>
      <FileUpload />
    </section>
  );
}
