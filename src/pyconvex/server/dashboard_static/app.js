// The dashboard shell: sign-in with the admin key, navigation, and mounting pages.

import { ApiError, adminKey, onKeyRefused, request, setAdminKey } from "./api.js";
import * as data from "./pages/data.js";
import * as env from "./pages/env.js";
import * as files from "./pages/files.js";
import * as functions from "./pages/functions.js";
import * as health from "./pages/health.js";
import * as logs from "./pages/logs.js";
import * as scheduler from "./pages/scheduler.js";

const PAGES = { data, functions, logs, scheduler, files, env, health };

const $ = (id) => document.getElementById(id);
let unmount = null;

function route() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  const name = PAGES[parts[0]] ? parts[0] : "data";
  return { name, args: parts.slice(1).filter(Boolean) };
}

function showPage() {
  if (unmount) unmount();
  unmount = null;
  const { name, args } = route();
  for (const link of document.querySelectorAll("#nav a")) {
    link.classList.toggle("active", link.dataset.page === name);
  }
  const container = $("page");
  container.replaceChildren();
  container.dataset.page = name;
  unmount = PAGES[name].mount(container, args) || null;
}

function showSignIn(message) {
  if (unmount) unmount();
  unmount = null;
  $("page").replaceChildren();
  $("nav").hidden = true;
  $("sign-out").hidden = true;
  $("deployment").textContent = "";
  $("sign-in").hidden = false;
  const error = $("sign-in-error");
  error.hidden = !message;
  error.textContent = message || "";
  $("admin-key").focus();
}

function showApp() {
  $("sign-in").hidden = true;
  $("nav").hidden = false;
  $("sign-out").hidden = false;
  $("deployment").textContent = location.host;
  showPage();
}

function refusalText(error) {
  if (error instanceof ApiError && error.status === 403) {
    return "The admin key was refused: it is not this deployment's key.";
  }
  if (error instanceof ApiError && error.status === 401) return "An admin key is required.";
  return error.message;
}

async function signIn(key) {
  try {
    await request("/api/admin/tables", {}, key);
  } catch (error) {
    setAdminKey(null);
    showSignIn(refusalText(error));
    return;
  }
  setAdminKey(key);
  showApp();
}

function start() {
  // `pyconvex dashboard` passes the key in the fragment, which never reaches a server:
  // keep it in this tab and take it out of the address bar and history.
  const given = /^#adminKey=(.*)$/.exec(location.hash);
  if (given) {
    setAdminKey(decodeURIComponent(given[1]));
    history.replaceState(null, "", `${location.pathname}#/data`);
  }
  $("sign-in").addEventListener("submit", (event) => {
    event.preventDefault();
    signIn($("admin-key").value.trim());
  });
  $("sign-out").addEventListener("click", () => {
    setAdminKey(null);
    showSignIn();
  });
  onKeyRefused((message) => {
    setAdminKey(null);
    showSignIn(`Signed out: ${message}`);
  });
  window.addEventListener("hashchange", () => {
    if (adminKey()) showPage();
  });
  const key = adminKey();
  if (key) signIn(key);
  else showSignIn();
}

start();
