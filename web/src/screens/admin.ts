/**
 * Admin screens: signing keys (rotate, retire), API keys (create with the secret shown once,
 * revoke), grants (create, delete) and buckets (create a local one, delete). Each lists what the
 * API answers and refreshes after a change; refusals show the API's message.
 */
import {
  createApiKey,
  createBucket,
  createGrant,
  deleteBucket,
  deleteGrant,
  listApiKeys,
  listBuckets,
  listGrants,
  listKeys,
  retireKey,
  revokeApiKey,
  rotateKey,
} from "../../../src/browser/index.js";
import type { Action, Grant } from "../../../src/browser/index.js";
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

/** Runs `act`, showing its failure in `where` and announcing `done` on success. */
async function attempt(where: HTMLElement, done: string, act: () => Promise<unknown>) {
  where.replaceChildren();
  try {
    await act();
    announce(done);
    return true;
  } catch (error) {
    where.append(notice("error", errorText(error)));
    return false;
  }
}

export const keysScreen: Screen = (main, s) => {
  const status = h("div", {});
  const list = h("div", {});
  const refresh = async () => {
    const page = await listKeys(s.client);
    list.replaceChildren(
      table(
        "Signing keys",
        ["Key id", "Status", "Created", "Retired", ""],
        page.items.map((k) => [
          h("code", {}, k.kid),
          String(k.status),
          formatTime(k.createdAt as string),
          formatTime(k.retiredAt as string | null),
          k.status === "verifying"
            ? confirmButton(
                "Retire",
                "Really retire?",
                () =>
                  void attempt(status, `Key ${k.kid} retired`, () =>
                    retireKey(s.client, k.kid),
                  ).then(refresh),
              )
            : "",
        ]),
        "No signing keys.",
      ),
    );
  };
  main.append(
    h("h2", {}, "Signing keys"),
    h(
      "p",
      {},
      "Rotating makes a new active key; older keys keep verifying the URLs they signed until you retire them.",
    ),
    h(
      "button",
      {
        type: "button",
        onclick: () =>
          void attempt(status, "New signing key made", () => rotateKey(s.client)).then(refresh),
      },
      "Rotate",
    ),
    status,
    list,
  );
  void refresh().catch((e) => status.append(notice("error", errorText(e))));
};

export const apiKeysScreen: Screen = (main, s) => {
  const status = h("div", { "aria-live": "polite" });
  const list = h("div", {});
  const name = h("input", { type: "text", required: true, maxlength: 200 });
  const role = h("input", {
    type: "text",
    required: true,
    pattern: "[a-z][a-z0-9_-]{0,63}",
    value: "user",
  });
  const days = h("input", { type: "number", min: 1, max: 3650, value: 90 });
  const refresh = async () => {
    const page = await listApiKeys(s.client);
    list.replaceChildren(
      table(
        "API keys",
        ["Name", "Role", "Id", "Created", "Expires", "Status", ""],
        page.items.map((k) => [
          k.name,
          k.role,
          h("code", {}, k.id),
          formatTime(k.createdAt as string),
          formatTime(k.expiresAt as string | null),
          k.revokedAt ? "revoked" : "active",
          k.revokedAt
            ? ""
            : confirmButton(
                "Revoke",
                "Really revoke?",
                () =>
                  void attempt(status, `Key ${k.name} revoked`, () =>
                    revokeApiKey(s.client, k.id),
                  ).then(refresh),
              ),
        ]),
        "No API keys yet.",
      ),
    );
  };
  const form = h(
    "form",
    { class: "card", "aria-labelledby": "apikey-new" },
    h("h3", { id: "apikey-new" }, "New API key"),
    field("Name", name),
    field("Role", role, "Grants name roles as role:NAME; admin may do everything."),
    field("Expires after (days)", days),
    h("button", { type: "submit" }, "Create key"),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    status.replaceChildren();
    try {
      const created = await createApiKey(s.client, {
        name: name.value.trim(),
        role: role.value.trim(),
        expiresIn: Number(days.value) * 86400,
      });
      status.append(
        notice("ok", "Key created. Copy the secret now: it is shown this once and never again."),
        copyBox("Secret", created.key, "apikey-secret"),
      );
      name.value = "";
      await refresh();
    } catch (error) {
      status.append(notice("error", errorText(error)));
    }
  });
  main.append(h("h2", {}, "API keys"), form, status, list);
  void refresh().catch((e) => status.append(notice("error", errorText(e))));
};

const ACTIONS = ["read", "write", "delete", "list", "share"];

/** A grant's quota and requirements in a few words: "60/min · ≤ 5242880 B · image/*". */
const limitsOf = (g: Grant): string =>
  [
    g.quota?.perMinute === undefined ? "" : `${g.quota.perMinute}/min`,
    g.quota?.perDay === undefined ? "" : `${g.quota.perDay}/day`,
    g.require?.contentLengthMax === undefined ? "" : `≤ ${g.require.contentLengthMax} B`,
    g.require?.contentTypes?.join(", ") ?? "",
    g.require?.ip === undefined ? "" : [g.require.ip].flat().join(", "),
  ]
    .filter(Boolean)
    .join(" · ");

export const grantsScreen: Screen = (main, s) => {
  const status = h("div", {});
  const list = h("div", {});
  const principal = h("input", {
    type: "text",
    required: true,
    placeholder: "role:user, key:ID or sub:SUBJECT",
  });
  const buckets = h("input", { type: "text", required: true, value: "default" });
  const prefix = h("input", { type: "text", placeholder: "uploads/${sub}" });
  const maxExpires = h("input", { type: "number", min: 1, placeholder: "seconds" });
  const perMinute = h("input", { type: "number", min: 1, placeholder: "URLs" });
  const perDay = h("input", { type: "number", min: 1, placeholder: "URLs" });
  const maxSize = h("input", { type: "number", min: 0, placeholder: "bytes" });
  const contentTypes = h("input", { type: "text", placeholder: "image/*, application/pdf" });
  const actionBoxes = ACTIONS.map((a) =>
    h(
      "div",
      { class: "check" },
      h("input", { type: "checkbox", id: `a-${a}`, value: a, checked: a === "read" }),
      h("label", { for: `a-${a}` }, a),
    ),
  );
  const refresh = async () => {
    const page = await listGrants(s.client);
    list.replaceChildren(
      table(
        "Grants",
        ["Principal", "Buckets", "Folder", "Actions", "Max lifetime", "Limits", ""],
        page.items.map((g) => [
          g.principal,
          g.buckets.join(", "),
          g.prefix || "(whole bucket)",
          g.actions.join(", "),
          g.maxExpiresIn === undefined ? "—" : `${g.maxExpiresIn} s`,
          limitsOf(g) || "—",
          g.id.startsWith("g_")
            ? confirmButton(
                "Delete",
                "Really delete?",
                () =>
                  void attempt(status, "Grant deleted", () => deleteGrant(s.client, g.id)).then(
                    refresh,
                  ),
              )
            : h("small", {}, "from the config file"),
        ]),
        "No grants: only admins can sign anything.",
      ),
    );
  };
  const form = h(
    "form",
    { class: "card", "aria-labelledby": "grant-new" },
    h("h3", { id: "grant-new" }, "New grant"),
    field("Principal", principal),
    field("Buckets", buckets, "Comma separated."),
    field("Folder", prefix, "Empty means the whole bucket; ${sub} is the caller's subject."),
    h("fieldset", {}, h("legend", {}, "Actions"), ...actionBoxes),
    field("Max URL lifetime (optional)", maxExpires),
    field("URLs per minute (optional)", perMinute, "Per principal, under this grant."),
    field("URLs per day (optional)", perDay),
    field("Max upload size (optional)", maxSize, "In bytes; uploads must declare their size."),
    field("Content types (optional)", contentTypes, "Comma separated; uploads must be one."),
    h("button", { type: "submit" }, "Create grant"),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const actions = actionBoxes
      .map((b) => b.querySelector("input")!)
      .filter((b) => b.checked)
      .map((b) => b.value as Action);
    const types = contentTypes.value
      .split(",")
      .map((t) => t.trim())
      .filter(Boolean);
    const ok = await attempt(status, "Grant created", () =>
      createGrant(s.client, {
        principal: principal.value.trim(),
        buckets: buckets.value
          .split(",")
          .map((b) => b.trim())
          .filter(Boolean),
        actions,
        ...(prefix.value.trim() ? { prefix: prefix.value.trim() } : {}),
        ...(maxExpires.value ? { maxExpiresIn: Number(maxExpires.value) } : {}),
        ...(perMinute.value || perDay.value
          ? {
              quota: {
                ...(perMinute.value ? { perMinute: Number(perMinute.value) } : {}),
                ...(perDay.value ? { perDay: Number(perDay.value) } : {}),
              },
            }
          : {}),
        ...(maxSize.value || types.length > 0
          ? {
              require: {
                ...(maxSize.value ? { contentLengthMax: Number(maxSize.value) } : {}),
                ...(types.length > 0 ? { contentTypes: types } : {}),
              },
            }
          : {}),
      }),
    );
    if (ok) await refresh();
  });
  main.append(h("h2", {}, "Grants"), form, status, list);
  void refresh().catch((e) => status.append(notice("error", errorText(e))));
};

export const bucketsScreen: Screen = (main, s) => {
  const status = h("div", {});
  const list = h("div", {});
  const name = h("input", { type: "text", required: true, pattern: "[a-z0-9][a-z0-9._-]{1,62}" });
  const refresh = async () => {
    const page = await listBuckets(s.client);
    list.replaceChildren(
      table(
        "Buckets",
        ["Name", "Backend", "Defined in", ""],
        page.items.map((b) => [
          b.name,
          b.config.backend,
          b.source,
          b.source === "api"
            ? confirmButton(
                "Delete",
                "Really delete?",
                () =>
                  void attempt(status, `Bucket ${b.name} deleted`, () =>
                    deleteBucket(s.client, b.name),
                  ).then(refresh),
              )
            : "",
        ]),
        "No buckets.",
      ),
    );
  };
  const form = h(
    "form",
    { class: "card", "aria-labelledby": "bucket-new" },
    h("h3", { id: "bucket-new" }, "New bucket on the embedded store"),
    field("Name", name, "Cloud buckets need credentials, so they come only from the config file."),
    h("button", { type: "submit" }, "Create bucket"),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (
      await attempt(status, "Bucket created", () =>
        createBucket(s.client, name.value.trim(), { backend: "local" }),
      )
    )
      await refresh();
  });
  main.append(h("h2", {}, "Buckets"), form, status, list);
  void refresh().catch((e) => status.append(notice("error", errorText(e))));
};
