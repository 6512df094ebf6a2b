/**
 * Tiny DOM helpers. Text always goes in as text nodes (never innerHTML), so file names, keys
 * and API messages cannot inject markup.
 */
type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | EventListener | undefined>;

/** Creates an element: attributes (`on…` are listeners, booleans toggle) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function")
      el.addEventListener(name.slice(2), value);
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  for (const child of children.flat())
    if (child !== null && child !== undefined && child !== false)
      el.append(typeof child === "object" ? child : String(child));
  return el;
}

/** Says `message` to screen readers (the polite live region). */
export function announce(message: string): void {
  const region = document.getElementById("announce")!;
  region.textContent = "";
  // a fresh text node makes repeated messages heard again
  setTimeout(() => (region.textContent = message), 30);
}

/** A labelled form field: the label wraps the control, so clicks and screen readers agree. */
export function field(label: string, control: HTMLElement, hint?: string): HTMLElement {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  const hintEl = hint === undefined ? null : h("small", { id: `${id}-hint`, class: "hint" }, hint);
  if (hintEl) control.setAttribute("aria-describedby", hintEl.id);
  return h("div", { class: "field" }, h("label", { for: id }, label), control, hintEl);
}

/** An error or success box; errors are announced at once (role=alert). */
export function notice(kind: "error" | "ok" | "info", text: string): HTMLElement {
  return h("p", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}

export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return "—";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

export const formatTime = (iso: string | null | undefined) =>
  iso ? new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" }) : "—";

/** Copies text; the readonly input beside each copy button is the fallback. */
export async function copy(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    announce("Copied to the clipboard");
  } catch {
    announce("Copy failed: select the text and copy it");
  }
}

/** A readonly text box with the value and a Copy button. */
export function copyBox(label: string, value: string, testId?: string): HTMLElement {
  const input = h("input", { type: "text", readonly: true, value, "data-testid": testId });
  input.addEventListener("focus", () => input.select());
  return h(
    "div",
    { class: "copybox" },
    field(label, input),
    h("button", { type: "button", onclick: () => void copy(value) }, "Copy"),
  );
}

/** The message to show for a failed call: the API's own message and code. */
export function errorText(error: unknown): string {
  const e = error as { code?: string; message?: string; status?: number };
  if (e?.code !== undefined && e.status !== undefined)
    return `${e.message} (${e.status} ${e.code})`;
  return e?.message ?? String(error);
}

/** A table with a caption; rows are arrays of cells. An empty list shows `empty` instead. */
export function table(
  caption: string,
  headers: string[],
  rows: Child[][],
  empty: string,
): HTMLElement {
  if (rows.length === 0) return h("p", { class: "empty" }, empty);
  return h(
    "div",
    { class: "table-wrap", tabindex: 0, role: "region", "aria-label": caption },
    h(
      "table",
      {},
      h("caption", {}, caption),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          headers.map((x) => h("th", { scope: "col" }, x)),
        ),
      ),
      h(
        "tbody",
        {},
        rows.map((r) =>
          h(
            "tr",
            {},
            r.map((c, i) => h("td", { "data-label": headers[i] ?? "" }, c)),
          ),
        ),
      ),
    ),
  );
}

/** A button that asks once more before acting (no modal dialogs). */
export function confirmButton(label: string, confirmLabel: string, act: () => void): HTMLElement {
  const button = h("button", { type: "button", class: "danger" }, label);
  let armed = false;
  button.addEventListener("click", () => {
    if (armed) return act();
    armed = true;
    button.textContent = confirmLabel;
    setTimeout(() => {
      armed = false;
      button.textContent = label;
    }, 5000);
  });
  return button;
}
