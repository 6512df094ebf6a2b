/**
 * The console's shell: sign-in, the section navigation (admin sections only for admins) and a
 * hash router (`#/files`, `#/upload`, …). Each screen renders into <main> and gets focus.
 */
import { h } from "./dom.js";
import { auditScreen } from "./screens/audit.js";
import { apiKeysScreen, bucketsScreen, grantsScreen, keysScreen } from "./screens/admin.js";
import { filesScreen } from "./screens/files.js";
import { sharesScreen } from "./screens/shares.js";
import { signInScreen } from "./screens/signin.js";
import { uploadScreen } from "./screens/upload.js";
import { restore, session, signOut, type Session } from "./session.js";
import "./style.css";

/** A screen: fills `main`; answers an optional cleanup run when the person leaves it. */
export type Screen = (main: HTMLElement, s: Session) => void | (() => void);

const SECTIONS: { path: string; label: string; admin: boolean; screen: Screen }[] = [
  { path: "files", label: "Files", admin: false, screen: filesScreen },
  { path: "upload", label: "Upload", admin: false, screen: uploadScreen },
  { path: "shares", label: "Shares", admin: false, screen: sharesScreen },
  { path: "keys", label: "Signing keys", admin: true, screen: keysScreen },
  { path: "apikeys", label: "API keys", admin: true, screen: apiKeysScreen },
  { path: "grants", label: "Grants", admin: true, screen: grantsScreen },
  { path: "buckets", label: "Buckets", admin: true, screen: bucketsScreen },
  { path: "audit", label: "Audit", admin: true, screen: auditScreen },
];

const main = document.getElementById("main")!;
const nav = document.getElementById("nav")!;
const signOutButton = document.getElementById("signout")!;
let leave: (() => void) | undefined;

function renderNav(s: Session | undefined): void {
  nav.replaceChildren();
  nav.hidden = s === undefined;
  signOutButton.hidden = s === undefined;
  if (s === undefined) return;
  const here = location.hash.replace(/^#\/?/, "").split("?")[0] || "files";
  nav.append(
    h(
      "ul",
      {},
      SECTIONS.filter((x) => !x.admin || s.admin).map((x) =>
        h(
          "li",
          {},
          h(
            "a",
            { href: `#/${x.path}`, "aria-current": x.path === here ? "page" : undefined },
            x.label,
          ),
        ),
      ),
    ),
  );
}

function route(): void {
  leave?.();
  leave = undefined;
  const s = session();
  renderNav(s);
  main.replaceChildren();
  if (s === undefined) {
    signInScreen(main, () => route());
    return;
  }
  const path = location.hash.replace(/^#\/?/, "").split("?")[0] || "files";
  const section = SECTIONS.find((x) => x.path === path);
  if (section === undefined || (section.admin && !s.admin)) {
    main.append(
      h("h2", {}, "Not available"),
      h(
        "p",
        { class: "notice error", role: "alert" },
        section === undefined
          ? "There is no such page."
          : "This page is for administrators: your credential does not have the admin role.",
      ),
    );
  } else {
    document.title = `${section.label} · Signet console`;
    leave = section.screen(main, s) ?? undefined;
  }
  main.focus();
}

signOutButton.addEventListener("click", () => {
  signOut();
  location.hash = "";
  route();
});
window.addEventListener("hashchange", route);
void restore().then(() => route());
