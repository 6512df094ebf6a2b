/**
 * Shares: a folder shared through one link (POST /v1/shares) with methods, expiry and IP ranges;
 * the link is shown to copy and as a QR code; active shares are listed and revoked.
 */
import QRCode from "qrcode";
import { createShare, deleteShare, listShares, type Method } from "../../../src/browser/index.js";
import {
  announce,
  confirmButton,
  copyBox,
  errorText,
  field,
  formatTime,
  h,
  notice,
  table,
} from "../dom.js";
import type { Screen } from "../main.js";
import { bucketPicker } from "./files.js";

const METHODS: { method: Method; label: string }[] = [
  { method: "GET", label: "Download (GET)" },
  { method: "LIST", label: "List the folder" },
  { method: "HEAD", label: "Check files (HEAD)" },
  { method: "PUT", label: "Upload (PUT)" },
];

export const sharesScreen: Screen = (main, s) => {
  let bucket = "default";
  const prefix = h("input", { type: "text", required: true, placeholder: "reports/2026" });
  const expiry = h(
    "select",
    {},
    h("option", { value: "3600" }, "1 hour"),
    h("option", { value: "86400", selected: true }, "1 day"),
    h("option", { value: "604800" }, "7 days"),
  );
  const ip = h("input", { type: "text", placeholder: "203.0.113.0/24, 2001:db8::/32" });
  const checks = METHODS.map(({ method, label }) => {
    const box = h("input", {
      type: "checkbox",
      value: method,
      id: `m-${method}`,
      checked: method === "GET" || method === "LIST",
    });
    return h("div", { class: "check" }, box, h("label", { for: box.id }, label));
  });
  const result = h("div", { "aria-live": "polite" });
  const listArea = h("div", {});

  async function refresh(): Promise<void> {
    try {
      const page = await listShares(s.client, { limit: 100 });
      const active = page.items.filter(
        (x) => x.revokedAt === null && Date.parse(x.expiresAt) > Date.now(),
      );
      listArea.replaceChildren(
        table(
          "Active shares",
          ["Folder", "Allows", "Mode", "Expires", ""],
          active.map((x) => [
            `${x.bucket}/${x.prefix}`,
            x.methods.join(", "),
            x.mode,
            formatTime(x.expiresAt),
            confirmButton("Revoke", "Really revoke?", async () => {
              try {
                await deleteShare(s.client, x.id);
                announce("Share revoked");
                await refresh();
              } catch (error) {
                listArea.prepend(notice("error", `Not revoked: ${errorText(error)}`));
              }
            }),
          ]),
          "No active shares.",
        ),
      );
    } catch (error) {
      listArea.replaceChildren(notice("error", `Could not list shares: ${errorText(error)}`));
    }
  }

  const form = h(
    "form",
    { class: "card", "aria-labelledby": "share-new" },
    h("h3", { id: "share-new" }, "Share a folder"),
    bucketPicker(s, (b) => (bucket = b)),
    field("Folder", prefix, "Everything under it, including files added later."),
    h("fieldset", {}, h("legend", {}, "The link allows"), ...checks),
    field("Expires after", expiry),
    field("Only from IP ranges (optional)", ip, "CIDR ranges, comma separated."),
    h("button", { type: "submit" }, "Create share"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    result.replaceChildren();
    const methods = checks
      .map((c) => c.querySelector("input")!)
      .filter((c) => c.checked)
      .map((c) => c.value as Method);
    if (methods.length === 0) {
      result.append(notice("error", "Choose at least one thing the link allows."));
      return;
    }
    const ranges = ip.value
      .split(",")
      .map((x) => x.trim())
      .filter(Boolean);
    try {
      const share = await createShare(s.client, {
        bucket,
        prefix: prefix.value.trim(),
        methods,
        expiresIn: Number(expiry.value),
        ...(ranges.length ? { ip: ranges } : {}),
      });
      const canvas = h("canvas", { role: "img", "aria-label": "QR code of the share link" });
      await QRCode.toCanvas(canvas, share.url, {
        margin: 4,
        width: 320,
        errorCorrectionLevel: "L",
      });
      result.append(
        notice("ok", `Shared ${bucket}/${share.prefix} until ${formatTime(share.expiresAt)}.`),
        copyBox("Share link", share.url, "share-link"),
        h("details", {}, h("summary", {}, "Show as QR code"), canvas),
      );
      await refresh();
    } catch (error) {
      result.append(notice("error", `Not shared: ${errorText(error)}`));
    }
  });
  main.append(h("h2", {}, "Shares"), form, result, h("h3", {}, "Active shares"), listArea);
  void refresh();
};
