// Login: auth/login {username, password} → {token, expiresAt, user}. The token goes to
// sessionStorage (this tab only; never a URL or localStorage) so a reload resumes with
// initialize {auth: {token}}.

import { h, field, formError, busy } from "../dom.js";
import { ErrorCodes } from "../rpc.js";

export default {
  id: "login",
  title: "Log in",
  mount(container, ctx) {
    const username = h("input", { name: "username", autocomplete: "username", required: true, autocapitalize: "none", spellcheck: "false" });
    const password = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true });
    const submit = h("button", { type: "submit", class: "btn btn-primary", id: "login-submit" }, "Log in");
    const form = h("form", { class: "card login-card", id: "login-form", novalidate: true },
      h("h1", { id: "h-login" }, "Log in to Minions"),
      h("p", { class: "muted" }, "Use the account an administrator made for you (", h("code", null, "minions users add"), ")."),
      field("Username", username).wrap,
      field("Password", password).wrap,
      h("div", { class: "actions" }, submit),
    );
    container.classList.add("page-center");
    container.append(form);
    username.focus();

    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      formError(form, null);
      if (!username.value.trim() || !password.value) {
        formError(form, "Enter your username and password.");
        (username.value.trim() ? password : username).focus();
        return;
      }
      busy(submit, true);
      try {
        const result = await ctx.rpc.request("auth/login", { username: username.value.trim(), password: password.value }, { timeoutMs: 30000 });
        password.value = "";
        await ctx.loggedIn(result);
      } catch (err) {
        let msg = err.message;
        if (err.code === ErrorCodes.Unauthenticated) msg = "Invalid username or password.";
        else if (err.code === ErrorCodes.AccountLocked) msg = `This account is locked. Try again in ${Math.ceil((err.data?.retryAfterSeconds || 60) / 60)} minute(s), or ask an administrator to unlock it.`;
        else if (err.code === ErrorCodes.InvalidParams) msg = err.data?.reason ? `Invalid ${err.data.field}: ${err.data.reason}` : err.message;
        formError(form, msg);
        password.focus();
        password.select();
      } finally {
        busy(submit, false);
      }
    });
    return {};
  },
};
