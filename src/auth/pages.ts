/**
 * The server-rendered pages of sign-in (issue 5): plain HTML with inline styles, no scripts and no
 * external assets. Every value is escaped.
 */
const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

/** Response headers of every page: no caching, no framing, nothing loaded from elsewhere. */
export const PAGE_HEADERS: Record<string, string> = {
  "cache-control": "no-store",
  "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
};

const STYLE = `body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0}main{max-width:360px;margin:10vh auto;background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px #0002}
h1{font-size:1.3rem;margin:0 0 1rem}label{display:block;margin:.8rem 0 .2rem;font-size:.9rem}input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}
button{margin-top:1.2rem;width:100%;padding:.6rem;font-size:1rem;background:#2563eb;color:#fff;border:0;border-radius:4px}.error{color:#b91c1c;font-size:.9rem}.note{color:#555;font-size:.85rem}`;

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body><main>${body}</main></body></html>`;
}

/** The sign-in form; `hidden` carries the authorization request through the POST. */
export function signInPage(opts: { appName: string; hidden: Record<string, string>; login?: string; error?: string; passwordExpired?: string }): string {
  const hidden = Object.entries(opts.hidden)
    .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`)
    .join("");
  const expired = opts.passwordExpired
    ? `<p class="error" role="alert">${escapeHtml(opts.passwordExpired)}</p>
       <label for="new_password">New password</label><input type="password" id="new_password" name="new_password" autocomplete="new-password" required>
       <p class="note">At least 10 characters, mixing 3 of: lower-case, upper-case, digits, other characters.</p>`
    : "";
  return page(
    "Sign in with Workgraph",
    `<h1>Sign in to ${escapeHtml(opts.appName)}</h1>
     ${opts.error ? `<p class="error" role="alert">${escapeHtml(opts.error)}</p>` : ""}
     <form method="post" action="/oauth/authorize">${hidden}
       <label for="login">Employee id or email</label><input type="text" id="login" name="login" autocomplete="username" value="${escapeHtml(opts.login ?? "")}" required>
       <label for="password">Password</label><input type="password" id="password" name="password" autocomplete="current-password" required>
       ${expired}
       <button type="submit">Sign in</button>
     </form>`,
  );
}

/** An error that cannot go back to the app (unknown client, unregistered redirect URI). */
export function errorPage(message: string): string {
  return page("Sign-in error", `<h1>This sign-in request cannot be completed</h1><p class="error" role="alert">${escapeHtml(message)}</p>`);
}

/** The activation page: set a password. */
export function activationPage(opts: { name?: string; error?: string; done?: boolean }): string {
  if (opts.done) return page("Password set", `<h1>Your password is set</h1><p>You can now sign in to your corp's apps with your employee id or email.</p>`);
  if (!opts.name) return page("Activation", `<h1>Activation</h1><p class="error" role="alert">${escapeHtml(opts.error ?? "This link is invalid, expired or already used.")}</p>`);
  return page(
    "Set your password",
    `<h1>Welcome, ${escapeHtml(opts.name)}</h1><p class="note">Choose a password: at least 10 characters, mixing 3 of lower-case, upper-case, digits, other characters.</p>
     ${opts.error ? `<p class="error" role="alert">${escapeHtml(opts.error)}</p>` : ""}
     <form method="post"><label for="password">New password</label><input type="password" id="password" name="password" autocomplete="new-password" required>
     <button type="submit">Set password</button></form>`,
  );
}
