import { useMutation, useQuery } from "convex/react";
import { useState } from "react";
import { api } from "../../../convex/_generated/api";
import type { Id } from "../../../convex/_generated/dataModel";
import { errorText } from "../errors";

/** Upload files (the guide's three steps) and see them, images previewed. */
export function Files() {
  const files = useQuery(api.files.list);
  const generateUploadUrl = useMutation(api.files.generateUploadUrl);
  const save = useMutation(api.files.save);
  const remove = useMutation(api.files.remove);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const upload = async (file: File) => {
    setBusy(true);
    setError(null);
    try {
      const url = await generateUploadUrl();
      const response = await fetch(url, {
        method: "POST",
        headers: { "Content-Type": file.type || "application/octet-stream" },
        body: file,
      });
      if (!response.ok) {
        throw new Error(`Upload failed: ${response.status}`);
      }
      const { storageId } = (await response.json()) as { storageId: Id<"_storage"> };
      await save({ storageId, name: file.name, type: file.type });
    } catch (failure) {
      setError(errorText(failure));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="files" data-testid="files">
      <label className="upload">
        Upload a file{" "}
        <input
          type="file"
          disabled={busy}
          data-testid="file-input"
          onChange={(e) => {
            const file = e.target.files?.[0];
            if (file) {
              void upload(file);
            }
            e.target.value = "";
          }}
        />
      </label>
      {busy && <span className="hint">Uploading…</span>}
      {error && <p className="error">{error}</p>}
      {files?.length === 0 && <p className="hint">No files yet.</p>}
      <ul>
        {files?.map((file) => (
          <li key={file._id} data-testid="file">
            {file.url && file.type.startsWith("image/") && (
              <img src={file.url} alt={file.name} data-testid="file-preview" />
            )}
            <a href={file.url ?? undefined} target="_blank" rel="noreferrer">
              {file.name}
            </a>{" "}
            <button title="Delete" onClick={() => void remove({ id: file._id })}>
              ×
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
