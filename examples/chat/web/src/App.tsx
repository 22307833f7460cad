import { useEffect, useState, type ReactNode } from "react";
import type { Id } from "../../convex/_generated/dataModel";
import { Channels } from "./components/Channels";
import { Chat } from "./components/Chat";
import { Files } from "./components/Files";
import { Guide } from "./components/Guide";
import { TaskBoard } from "./components/TaskBoard";

const TABS = { chat: "Chat", tasks: "Tasks", files: "Files", guide: "Guide" } as const;
type Tab = keyof typeof TABS;

/** The tab named in the URL (`#tasks`), so a link or a reload keeps the view. */
function tabFromHash(): Tab {
  const name = window.location.hash.slice(1);
  return name in TABS ? (name as Tab) : "chat";
}

/** The app; `account` is the header's sign-in corner, from whichever auth provider wraps it. */
export default function App({ account }: { account: ReactNode }) {
  const [tab, setTab] = useState<Tab>(tabFromHash);
  const [channelId, setChannelId] = useState<Id<"channels"> | null>(null);

  useEffect(() => {
    const onHashChange = () => setTab(tabFromHash());
    window.addEventListener("hashchange", onHashChange);
    return () => window.removeEventListener("hashchange", onHashChange);
  }, []);

  return (
    <div className="app">
      <header>
        <h1>pyconvex chat</h1>
        <nav>
          {Object.entries(TABS).map(([name, label]) => (
            <a key={name} href={`#${name}`} className={tab === name ? "active" : ""} data-testid={`tab-${name}`}>
              {label}
            </a>
          ))}
        </nav>
        {account}
      </header>
      {(tab === "chat" || tab === "guide") && (
        <div className="with-sidebar">
          <Channels selected={channelId} onSelect={setChannelId} />
          {channelId === null ? (
            <p className="empty">No channel yet.</p>
          ) : tab === "chat" ? (
            <Chat key={channelId} channelId={channelId} />
          ) : (
            <Guide channelId={channelId} />
          )}
        </div>
      )}
      {tab === "tasks" && <TaskBoard />}
      {tab === "files" && <Files />}
    </div>
  );
}
