/**
 * Upload by drag and drop (or the file picker, for keyboards): each file goes straight to
 * storage through an upload intent with the SDK's `upload` — one request for small files,
 * parallel retried parts for large ones — with its own progress bar, Cancel and Retry.
 */
import { upload } from "../../../src/browser/index.js";
import { announce, errorText, field, formatBytes, h } from "../dom.js";
import type { Screen } from "../main.js";
import { bucketPicker } from "./files.js";

/** At most `n` at once; the others wait their turn, first come first served. */
function limiter(n: number) {
  let active = 0;
  const waiting: (() => void)[] = [];
  return {
    async acquire(): Promise<void> {
      if (active < n) active++;
      else await new Promise<void>((resolve) => waiting.push(resolve));
    },
    /** hands the slot to the next in line, or frees it */
    release(): void {
      const next = waiting.shift();
      if (next === undefined) active--;
      else next();
    },
  };
}

/** Files uploading at once (each runs its own parts in parallel too). */
const FILES_AT_ONCE = 3;

export const uploadScreen: Screen = (main, s) => {
  const slots = limiter(FILES_AT_ONCE);
  let bucket = "default";
  const folderInput = h("input", { type: "text", placeholder: "e.g. reports/2026", value: "" });
  const picker = h("input", { type: "file", multiple: true, class: "visually-hidden", id: "pick" });
  const queue = h("ul", { class: "queue", "aria-label": "Uploads" });
  const controllers = new Set<AbortController>();

  function add(file: File): void {
    const folder = folderInput.value.trim().replace(/^\/+|\/+$/g, "");
    const key = folder ? `${folder}/${file.name}` : file.name;
    const bar = h("progress", {
      max: file.size || 1,
      value: 0,
      "aria-label": `Progress of ${file.name}`,
    });
    const state = h("span", { class: "state" }, "waiting");
    const cancel = h("button", { type: "button", class: "ghost" }, "Cancel");
    const retry = h("button", { type: "button", hidden: true }, "Retry");
    const item = h(
      "li",
      { class: "item", "data-key": key },
      h(
        "div",
        { class: "name" },
        h("strong", {}, file.name),
        ` ${formatBytes(file.size)} → ${bucket}/${key}`,
      ),
      bar,
      state,
      h("div", { class: "actions" }, cancel, retry),
    );
    queue.append(item);
    let controller: AbortController | undefined;
    const start = async () => {
      controller = new AbortController();
      controllers.add(controller);
      retry.hidden = true;
      cancel.hidden = false;
      state.textContent = "waiting";
      state.className = "state";
      await slots.acquire();
      state.textContent = "uploading…";
      const started = Date.now();
      try {
        controller.signal.throwIfAborted();
        await upload(file, {
          client: s.client,
          bucket,
          key,
          signal: controller.signal,
          onProgress: ({ loaded, total }) => {
            bar.value = loaded;
            const pct = total ? Math.floor((loaded / total) * 100) : 100;
            const rate = loaded / Math.max(0.001, (Date.now() - started) / 1000);
            state.textContent = `${pct}% · ${formatBytes(rate)}/s`;
          },
        });
        bar.value = bar.max;
        state.textContent = "uploaded";
        state.className = "state ok";
        cancel.hidden = true;
        announce(`${file.name} uploaded`);
      } catch (error) {
        const aborted = (error as Error).name === "AbortError";
        state.textContent = aborted ? "cancelled" : `failed: ${errorText(error)}`;
        state.className = "state error";
        cancel.hidden = true;
        retry.hidden = false;
        announce(`${file.name} ${aborted ? "cancelled" : "failed"}`);
      } finally {
        controllers.delete(controller);
        slots.release();
      }
    };
    cancel.addEventListener("click", () => controller?.abort());
    retry.addEventListener("click", () => {
      bar.value = 0;
      void start();
    });
    void start();
  }

  const zone = h(
    "div",
    { class: "dropzone", "data-testid": "dropzone" },
    h("p", {}, "Drop files here"),
    h("p", {}, "or"),
    h("label", { for: "pick", class: "button" }, "Choose files…"),
    picker,
  );
  zone.addEventListener("dragover", (e) => {
    e.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    for (const file of Array.from(e.dataTransfer?.files ?? [])) add(file);
  });
  picker.addEventListener("change", () => {
    for (const file of Array.from(picker.files ?? [])) add(file);
    picker.value = "";
  });
  main.append(
    h("h2", {}, "Upload"),
    h(
      "div",
      { class: "toolbar" },
      bucketPicker(s, (b) => (bucket = b)),
      field("Folder", folderInput, "Files land in this folder of the bucket."),
    ),
    zone,
    queue,
  );
  // Leaving the page cancels nothing silently: uploads under way stop, and say so.
  return () => {
    for (const c of controllers) c.abort();
  };
};
