import { ConvexError } from "convex/values";

/** What to show for a failed call: a ConvexError's data, else the message. */
export function errorText(error: unknown): string {
  if (error instanceof ConvexError) {
    return typeof error.data === "string" ? error.data : JSON.stringify(error.data);
  }
  return error instanceof Error ? error.message : String(error);
}
