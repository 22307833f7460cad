// The official React hook usePaginatedQuery (convex/react, unmodified), rendered by
// react-dom in a jsdom document, against a real pyconvex server.
//   node paginated_hook.mjs URL [WRITER_URL]  -> prints one JSON line: the results seen at
//   each step. With WRITER_URL (another node of the same deployment), the writes go
//   through that node and the hook's client stays on the first.
//
// Pages are reactive between fixed boundaries: a write inside a loaded page makes that
// page grow or shrink, a write past the loaded pages changes nothing on screen.
import { JSDOM } from "jsdom";
import WebSocket from "ws";

const dom = new JSDOM("<!doctype html><div id=root></div>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
if (!("navigator" in globalThis)) globalThis.navigator = dom.window.navigator;
globalThis.IS_REACT_ACT_ENVIRONMENT = false;

// After the DOM exists: react-dom looks for it when it loads.
const React = (await import("react")).default;
const { createRoot } = await import("react-dom/client");
const { ConvexProvider, ConvexReactClient, usePaginatedQuery } = await import("convex/react");
const { ConvexHttpClient } = await import("convex/browser");
const { anyApi } = await import("convex/server");

const url = process.argv[2];
const http = new ConvexHttpClient(process.argv[3] ?? url);
for (const text of ["n0", "n1", "n2", "n3", "n4"]) {
  await http.mutation(anyApi.api.add, { text });
}

let latest = null;
function Probe() {
  latest = usePaginatedQuery(anyApi.api.notes_page, {}, { initialNumItems: 2 });
  return null;
}
const client = new ConvexReactClient(url, { webSocketConstructor: WebSocket, unsavedChangesWarning: false });
const root = createRoot(document.getElementById("root"));
root.render(React.createElement(ConvexProvider, { client }, React.createElement(Probe)));

const texts = () => latest.results.map((note) => note.text);
const waitFor = async (what, predicate) => {
  const deadline = Date.now() + 10000;
  while (!(latest && predicate())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(latest && texts())}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return { results: texts(), status: latest.status };
};
const same = (expected) => () => JSON.stringify(texts()) === JSON.stringify(expected);

const steps = {};
steps.first = await waitFor("the first page", () => latest.status === "CanLoadMore");
latest.loadMore(2);
steps.loaded = await waitFor("two pages", () => latest.results.length === 4);
await http.mutation(anyApi.api.add, { text: "n5" }); // newest first: lands in page one
steps.grown = await waitFor("page one to grow", same(["n5", "n4", "n3", "n2", "n1"]));
await http.mutation(anyApi.api.remove_by_text, { text: "n3" });
steps.shrunk = await waitFor("page one to shrink", same(["n5", "n4", "n2", "n1"]));
await http.mutation(anyApi.api.remove_by_text, { text: "n1" }); // the end of page two
steps.shrunkTwo = await waitFor("page two to shrink", same(["n5", "n4", "n2"]));
latest.loadMore(10);
steps.exhausted = await waitFor("the end", () => latest.status === "Exhausted");

root.unmount();
await client.close();
console.log(JSON.stringify(steps));
process.exit(0);
