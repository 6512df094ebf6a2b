/** Sign in with an API key or a JWT (kept in memory, or this tab's sessionStorage on request). */
import { errorText, field, h, notice } from "../dom.js";
import { signIn } from "../session.js";

export function signInScreen(main: HTMLElement, done: () => void): void {
  const token = h("input", {
    type: "password",
    autocomplete: "off",
    spellcheck: "false",
    required: true,
    "data-testid": "token",
  });
  const remember = h("input", { type: "checkbox", id: "remember" });
  const status = h("div", { "aria-live": "assertive" });
  const submit = h("button", { type: "submit" }, "Sign in");
  const form = h(
    "form",
    { class: "card narrow", "aria-labelledby": "signin-title" },
    h("h2", { id: "signin-title" }, "Sign in"),
    h("p", {}, "Use an API key or a JWT from your identity provider."),
    field("API key or JWT", token, "Kept in this page's memory only, unless you tick the box."),
    h(
      "div",
      { class: "check" },
      remember,
      h("label", { for: "remember" }, "Keep me signed in for this tab (sessionStorage)"),
    ),
    submit,
    status,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    status.replaceChildren();
    submit.disabled = true;
    try {
      await signIn(token.value.trim(), remember.checked);
      if (!location.hash) location.hash = "#/files";
      done();
    } catch (error) {
      const e = error as { status?: number };
      status.append(
        notice(
          "error",
          e.status === 401
            ? `Signet refused this key or token: ${errorText(error)}. Check it and try again.`
            : `Could not sign in: ${errorText(error)}`,
        ),
      );
      token.focus();
    } finally {
      submit.disabled = false;
    }
  });
  main.append(form);
  token.focus();
}
