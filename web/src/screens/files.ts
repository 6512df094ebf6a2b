/**
 * Browse: a bucket's folders and files (GET /v1/files by key prefix, a page at a time), a search
 * by prefix inside the current folder, and a file's details with download, a short-lived link
 * to copy, and delete. Folders are the key segments before a "/" (DESIGN.md's folder rule).
 */
import {
  deleteFile,
  type FileInfo,
  listBuckets,
  listFiles,
  presign,
} from "../../../src/browser/index.js";
import {
  announce,
  confirmButton,
  copyBox,
  errorText,
  field,
  formatBytes,
  formatTime,
  h,
  notice,
  table,
} from "../dom.js";
import type { Screen } from "../main.js";
import type { Session } from "../session.js";

/** A bucket picker: the admin's bucket list, or a name typed in (others cannot list buckets). */
export function bucketPicker(s: Session, onChange: (bucket: string) => void): HTMLElement {
  const input = h("input", {
    type: "text",
    value: "default",
    list: "bucket-names",
    required: true,
  });
  const names = h("datalist", { id: "bucket-names" });
  if (s.admin)
    void listBuckets(s.client).then((page) =>
      names.replaceChildren(...page.items.map((b) => h("option", { value: b.name }))),
    );
  input.addEventListener("change", () => onChange(input.value.trim()));
  return h("div", {}, field("Bucket", input), names);
}

const PAGE = 50;

export const filesScreen: Screen = (main, s) => {
  let bucket = "default";
  let folder = "";
  let cursor: string | null = null;
  let files: FileInfo[] = [];
  const search = h("input", { type: "search", placeholder: "name starts with…" });
  const crumbs = h("nav", { "aria-label": "Folder path", class: "crumbs" });
  const list = h("div", {});
  const more = h("button", { type: "button", hidden: true }, "Load more");
  const details = h("section", { class: "card", "aria-label": "File details", hidden: true });
  const status = h("div", {});

  // A listing started by a newer search or folder wins: an older answer arriving later is
  // dropped (else two pages of the same folder would mix, with the older one's cursor).
  let generation = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;

  async function load(reset: boolean): Promise<void> {
    status.replaceChildren();
    if (reset) {
      generation++;
      cursor = null;
      files = [];
    }
    const mine = generation;
    try {
      const page = await listFiles(s.client, {
        bucket,
        prefix: folder + search.value,
        limit: PAGE,
        ...(cursor === null ? {} : { cursor }),
      });
      if (mine !== generation) return;
      files.push(...page.items.filter((f) => f.status !== "deleted"));
      cursor = page.nextCursor === null ? null : String(page.nextCursor);
      render();
    } catch (error) {
      if (mine !== generation) return;
      status.append(notice("error", `Could not list files: ${errorText(error)}`));
      list.replaceChildren();
    }
  }

  function open(next: string): void {
    // a search typed just before is superseded by the folder, not run after it
    clearTimeout(timer);
    folder = next;
    search.value = "";
    details.hidden = true;
    void load(true);
  }

  function render(): void {
    crumbs.replaceChildren();
    const parts = folder.split("/").filter(Boolean);
    const trail: HTMLElement[] = [
      h("button", { type: "button", class: "link", onclick: () => open("") }, bucket),
    ];
    parts.forEach((name, i) => {
      const to = parts.slice(0, i + 1).join("/") + "/";
      trail.push(
        h("span", { "aria-hidden": "true" }, " / "),
        h("button", { type: "button", class: "link", onclick: () => open(to) }, name),
      );
    });
    crumbs.append(...trail);
    const folders = new Set<string>();
    const here: FileInfo[] = [];
    for (const f of files) {
      const rest = f.key.slice(folder.length);
      const slash = rest.indexOf("/");
      if (slash >= 0) folders.add(rest.slice(0, slash + 1));
      else here.push(f);
    }
    const rows = [
      ...[...folders]
        .sort()
        .map((name) => [
          h(
            "button",
            { type: "button", class: "link folder", onclick: () => open(folder + name) },
            `📁 ${name}`,
          ),
          "folder",
          "",
          "",
          "",
        ]),
      ...here.map((f) => [
        h(
          "button",
          { type: "button", class: "link", onclick: () => showDetails(f) },
          f.key.slice(folder.length),
        ),
        f.contentType || "—",
        formatBytes(f.size),
        f.status,
        formatTime(f.committedAt ?? f.createdAt),
      ]),
    ];
    list.replaceChildren(
      table(
        `Files in ${bucket}/${folder}`,
        ["Name", "Type", "Size", "Status", "Modified"],
        rows,
        search.value
          ? `Nothing here starts with “${search.value}”.`
          : "This folder is empty. Upload files from the Upload page.",
      ),
    );
    more.hidden = cursor === null;
  }

  function showDetails(f: FileInfo): void {
    details.hidden = false;
    const linkArea = h("div", {});
    const expiry = h(
      "select",
      {},
      h("option", { value: "300" }, "5 minutes"),
      h("option", { value: "3600" }, "1 hour"),
      h("option", { value: "86400" }, "1 day"),
    );
    const name = f.key.split("/").pop() ?? "download";
    const sign = (expiresIn: number, attachment: boolean) =>
      presign(s.client, {
        bucket: f.bucket,
        key: f.key,
        method: "GET",
        expiresIn,
        ...(attachment
          ? { responseContentDisposition: `attachment; filename="${name.replace(/["\\]/g, "_")}"` }
          : {}),
      });
    const sha = f.sha256
      ? Array.from(atob(f.sha256), (c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join("")
      : "—";
    details.replaceChildren(
      h("h3", { tabindex: -1 }, name),
      h(
        "dl",
        { class: "props" },
        ...[
          ["Key", f.key],
          ["Size", `${formatBytes(f.size)} (${f.size ?? "?"} bytes)`],
          ["Type", f.contentType || "—"],
          ["SHA-256", sha],
          ["Status", f.status],
          ["Uploaded by", f.owner],
          ["Created", formatTime(f.createdAt)],
          ["Committed", formatTime(f.committedAt)],
          ["File id", f.id],
        ].flatMap(([k, v]) => [h("dt", {}, k!), h("dd", {}, v!)]),
      ),
      h(
        "div",
        { class: "actions" },
        h(
          "button",
          {
            type: "button",
            onclick: async () => {
              try {
                const signed = await sign(300, true);
                const a = h("a", { href: signed.url, download: name });
                document.body.append(a);
                a.click();
                a.remove();
              } catch (error) {
                linkArea.replaceChildren(notice("error", `Download refused: ${errorText(error)}`));
              }
            },
          },
          "Download",
        ),
        field("Link lifetime", expiry),
        h(
          "button",
          {
            type: "button",
            onclick: async () => {
              try {
                const signed = await sign(Number(expiry.value), false);
                linkArea.replaceChildren(
                  copyBox(
                    `Link, valid until ${formatTime(signed.expiresAt)}`,
                    signed.url,
                    "file-link",
                  ),
                );
                announce("Link created");
              } catch (error) {
                linkArea.replaceChildren(notice("error", `No link: ${errorText(error)}`));
              }
            },
          },
          "Get a link",
        ),
        confirmButton("Delete", "Really delete?", async () => {
          try {
            await deleteFile(s.client, f.id);
            announce(`${name} deleted`);
            details.hidden = true;
            await load(true);
          } catch (error) {
            linkArea.replaceChildren(notice("error", `Not deleted: ${errorText(error)}`));
          }
        }),
      ),
      linkArea,
    );
    (details.querySelector("h3") as HTMLElement).focus();
  }

  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => void load(true), 250);
  });
  more.addEventListener("click", () => void load(false));
  main.append(
    h("h2", {}, "Files"),
    h(
      "div",
      { class: "toolbar" },
      bucketPicker(s, (b) => {
        bucket = b;
        open("");
      }),
      field("Search this folder", search),
    ),
    crumbs,
    status,
    h("div", { class: "split" }, h("div", {}, list, more), details),
  );
  void load(true);
};
