/**
 * The audit trail (GET /v1/audit, newest first): the API's filter (token id) and page size,
 * narrowing by event, principal and bucket on the page, and a live tail that polls for new
 * records every two seconds while the page is open.
 */
import { type AuditRecord, listAudit } from "../../../src/browser/index.js";
import { errorText, field, formatTime, h, notice, table } from "../dom.js";
import type { Screen } from "../main.js";

export const auditScreen: Screen = (main, s) => {
  const tokenId = h("input", { type: "text", placeholder: "token id" });
  const event = h("input", { type: "text", placeholder: "e.g. upload.complete" });
  const who = h("input", { type: "text", placeholder: "principal" });
  const bucket = h("input", { type: "text", placeholder: "bucket" });
  const limit = h("select", {}, ...[50, 100, 500].map((n) => h("option", { value: n }, String(n))));
  const tail = h("input", { type: "checkbox", id: "tail" });
  const status = h("div", {});
  const list = h("div", {});
  const more = h("button", { type: "button", hidden: true }, "Older records");
  let records: AuditRecord[] = [];
  let cursor: string | null = null;
  let timer: ReturnType<typeof setInterval> | undefined;

  /** the record's action (older servers name it `event` only) */
  const actionOf = (r: AuditRecord) => r.action ?? r.event ?? "";
  const matches = (r: AuditRecord) =>
    (!event.value || actionOf(r).includes(event.value.trim())) &&
    (!who.value || (r.principal ?? "").includes(who.value.trim())) &&
    (!bucket.value || r.bucket === bucket.value.trim());

  const query = () => ({ limit: Number(limit.value), tokenId: tokenId.value.trim() || undefined });

  function render(): void {
    list.replaceChildren(
      table(
        "Audit records",
        ["When", "Event", "Principal", "Bucket", "Key", "Status", "Token"],
        records
          .filter(matches)
          .map((r) => [
            formatTime(r.at),
            actionOf(r),
            r.principal ?? "—",
            r.bucket ?? "—",
            r.key ?? "—",
            String(r.status ?? "—"),
            r.tokenId ? h("code", {}, r.tokenId) : "—",
          ]),
        "No records match.",
      ),
    );
    more.hidden = cursor === null;
  }

  async function load(reset: boolean): Promise<void> {
    status.replaceChildren();
    try {
      const page = await listAudit(s.client, {
        ...query(),
        ...(reset || cursor === null ? {} : { cursor }),
      });
      records = reset ? page.items : [...records, ...page.items];
      cursor = page.nextCursor === null ? null : String(page.nextCursor);
      render();
    } catch (error) {
      status.append(notice("error", `Could not read the audit trail: ${errorText(error)}`));
    }
  }

  /** Live tail: newest records since the last one shown, prepended. */
  async function poll(): Promise<void> {
    try {
      const newest = records[0]?.id ?? 0;
      const page = await listAudit(s.client, { ...query(), limit: 100 });
      const fresh = page.items.filter((r) => r.id > newest);
      if (fresh.length > 0) {
        records = [...fresh, ...records];
        render();
      }
    } catch (error) {
      status.replaceChildren(notice("error", `Live tail stopped: ${errorText(error)}`));
      tail.checked = false;
      clearInterval(timer);
    }
  }

  tail.addEventListener("change", () => {
    clearInterval(timer);
    if (tail.checked) timer = setInterval(() => void poll(), 2000);
  });
  for (const input of [event, who, bucket]) input.addEventListener("input", render);
  tokenId.addEventListener("change", () => void load(true));
  limit.addEventListener("change", () => void load(true));
  more.addEventListener("click", () => void load(false));
  main.append(
    h("h2", {}, "Audit"),
    h(
      "div",
      { class: "toolbar" },
      field("Token id", tokenId),
      field("Event", event),
      field("Principal", who),
      field("Bucket", bucket),
      field("Per page", limit),
      h("div", { class: "check" }, tail, h("label", { for: "tail" }, "Live tail")),
    ),
    status,
    list,
    more,
  );
  void load(true);
  return () => clearInterval(timer);
};
