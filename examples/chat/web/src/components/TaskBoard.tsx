import { useMutation, useQuery } from "convex/react";
import { useState } from "react";
import { api } from "../../../convex/_generated/api";
import type { Doc } from "../../../convex/_generated/dataModel";
import { errorText } from "../errors";

type Status = Doc<"tasks">["status"];
const COLUMNS: { status: Status; title: string }[] = [
  { status: "todo", title: "To do" },
  { status: "in_progress", title: "In progress" },
  { status: "done", title: "Done" },
];

/** The task board: one column per status; moving a card changes its status for everyone. */
export function TaskBoard() {
  const tasks = useQuery(api.tasks.list, {});
  const create = useMutation(api.tasks.create);
  const [title, setTitle] = useState("");
  const [error, setError] = useState<string | null>(null);
  return (
    <section className="board" data-testid="board">
      <form
        className="new-task"
        onSubmit={async (event) => {
          event.preventDefault();
          setError(null);
          try {
            await create({ title });
            setTitle("");
          } catch (failure) {
            setError(errorText(failure));
          }
        }}
      >
        <input placeholder="New task" value={title} onChange={(e) => setTitle(e.target.value)} data-testid="new-task" />
        <button type="submit" disabled={!title.trim()} data-testid="add-task">
          Add
        </button>
        {error && <span className="error">{error}</span>}
      </form>
      {tasks === undefined ? (
        <p className="hint">Loading…</p>
      ) : (
        <div className="columns">
          {COLUMNS.map((column, index) => (
            <div key={column.status} className="column" data-testid={`column-${column.status}`}>
              <h3>
                {column.title} ({tasks.filter((t) => t.status === column.status).length})
              </h3>
              {tasks
                .filter((task) => task.status === column.status)
                .map((task) => (
                  <TaskCard
                    key={task._id}
                    task={task}
                    left={COLUMNS[index - 1]?.status}
                    right={COLUMNS[index + 1]?.status}
                  />
                ))}
            </div>
          ))}
        </div>
      )}
    </section>
  );
}

function TaskCard({ task, left, right }: { task: Doc<"tasks">; left?: Status; right?: Status }) {
  const update = useMutation(api.tasks.update);
  const remove = useMutation(api.tasks.remove);
  return (
    <div className="task" data-testid="task">
      <span className="title">{task.title}</span>
      {task.tags.map((tag) => (
        <span key={tag} className="tag">
          {tag}
        </span>
      ))}
      <span className="moves">
        {left && (
          <button title="Move left" onClick={() => void update({ id: task._id, status: left })} data-testid="move-left">
            ←
          </button>
        )}
        {right && (
          <button title="Move right" onClick={() => void update({ id: task._id, status: right })} data-testid="move-right">
            →
          </button>
        )}
        <button title="Delete" onClick={() => void remove({ id: task._id })}>
          ×
        </button>
      </span>
    </div>
  );
}
