import { useAction } from "convex/react";
import { api } from "../../../convex/_generated/api";
import { useState } from "react";
import type { EmailProps } from "./types";

export function EmailButton({ to, subject, body }: EmailProps) {
  const sendEmail = useAction(api.actions.sendEmail);
  const [sending, setSending] = useState(false);

  const handleSend = async () => {
    setSending(true);
    try {
      await sendEmail({ to, subject, body });
      alert("Email sent!");
    } catch (error) {
      alert("Failed to send email");
    } finally {
      setSending(false);
    }
  };

  return (
    <button onClick={handleSend} disabled={sending}>
      {sending ? "Sending..." : "Send Email"}
    </button>
  );
}
