/**
 * The server-rendered pages of sign-in (issue 5): plain HTML with inline styles, no scripts and no
 * external assets. Every value is escaped.
 */
const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

/**
 * Response headers of every page: no caching, no framing (clickjacking: `frame-ancestors` and the
 * older X-Frame-Options), nothing loaded from elsewhere, no scripts. `Referrer-Policy: same-origin`
 * rather than `no-referrer`: under `no-referrer` Chromium posts a same-origin form with
 * `Origin: null`, hiding the one header that names the posting page; `same-origin` still sends no
 * Referer (with its authorization request) to any other site.
 */
export const PAGE_HEADERS: Record<string, string> = {
  "cache-control": "no-store",
  // No `form-action`: Chromium applies it to the redirect after the post too (to the app's callback).
  "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin",
};

/**
 * Headers for every response of the server (issue 11, finding 12), API answers included: no MIME
 * sniffing, no framing. A page that loads anything sets its own, stricter CSP over this default
 * (the sign-in pages, the playground); an API answer keeps `default-src 'none'`.
 */
export function securityHeaders(_req: unknown, res: { setHeader(name: string, value: string): unknown }, next: () => void): void {
  res.setHeader("x-content-type-options", "nosniff");
  res.setHeader("x-frame-options", "DENY");
  res.setHeader("content-security-policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'");
  next();
}

const STYLE = `body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0}main{max-width:360px;margin:10vh auto;background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px #0002}
h1{font-size:1.3rem;margin:0 0 1rem}label{display:block;margin:.8rem 0 .2rem;font-size:.9rem}input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}
button{margin-top:1.2rem;width:100%;padding:.6rem;font-size:1rem;background:#2563eb;color:#fff;border:0;border-radius:4px}.error{color:#b91c1c;font-size:.9rem}.note{color:#555;font-size:.85rem}`;

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body><main>${body}</main></body></html>`;
}

/** The name of the hidden field that carries the form token (see `formToken` in oidc.ts). */
export const FORM_TOKEN_FIELD = "form_token";

const hiddenInputs = (fields: Record<string, string>) =>
  Object.entries(fields)
    .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`)
    .join("");

/** The sign-in form; `hidden` carries the authorization request (and the form token) through the POST. */
export function signInPage(opts: {
  appName: string;
  corpName: string;
  hidden: Record<string, string>;
  login?: string;
  error?: string;
  passwordExpired?: string;
}): string {
  const expired = opts.passwordExpired
    ? `<p class="error" role="alert">${escapeHtml(opts.passwordExpired)}</p>
       <label for="new_password">New password</label><input type="password" id="new_password" name="new_password" autocomplete="new-password" required>
       <p class="note">At least 10 characters, mixing 3 of: lower-case, upper-case, digits, other characters.</p>`
    : "";
  return page(
    "Sign in with Workgraph",
    `<h1>Sign in to ${escapeHtml(opts.appName)}</h1>
     <p class="note">with your ${escapeHtml(opts.corpName)} account</p>
     ${opts.error ? `<p class="error" role="alert">${escapeHtml(opts.error)}</p>` : ""}
     <form method="post" action="/oauth/authorize">${hiddenInputs(opts.hidden)}
       <label for="login">Employee id or email</label><input type="text" id="login" name="login" autocomplete="username" value="${escapeHtml(opts.login ?? "")}" required>
       <label for="password">Password</label><input type="password" id="password" name="password" autocomplete="current-password" required>
       ${expired}
       <button type="submit">Sign in</button>
     </form>
     <p class="note" id="forgot"><b>Forgot your password?</b> Ask your ${escapeHtml(opts.corpName)} administrator (or your department leader) for a new activation link, and set a new password there.</p>`,
  );
}

/** An error that cannot go back to the app (unknown client, unregistered redirect URI). */
export function errorPage(message: string): string {
  return page("Sign-in error", `<h1>This sign-in request cannot be completed</h1><p class="error" role="alert">${escapeHtml(message)}</p>`);
}

/** Too many form posts from one address (the per-IP throttle); `Retry-After` carries the same seconds. */
export function throttledPage(retryAfterSeconds: number): string {
  return page(
    "Too many attempts",
    `<h1>Too many attempts from your network</h1><p class="error" role="alert">Wait ${retryAfterSeconds} seconds, then open the sign-in link again.</p>`,
  );
}

/** The activation page: set a password, typed twice. */
export function activationPage(opts: {
  name?: string;
  corpName?: string;
  employeeId?: string;
  hidden?: Record<string, string>;
  error?: string;
  done?: boolean;
}): string {
  if (opts.done) {
    return page(
      "Password set",
      `<h1>Your password is set</h1>
       <p>You can now sign in to ${opts.corpName ? `${escapeHtml(opts.corpName)}'s` : "your corp's"} apps: open the app you want to use, choose <b>Sign in with Workgraph</b>,
       and enter your employee id${opts.employeeId ? ` (<b>${escapeHtml(opts.employeeId)}</b>)` : ""} or email with this password.</p>
       <p class="note">This link is now used up. Your password expires after 90 days; the sign-in page then asks for a new one.</p>`,
    );
  }
  if (!opts.name)
    return page(
      "Activation",
      `<h1>Activation</h1><p class="error" role="alert">${escapeHtml(opts.error ?? "This link is invalid, expired or already used.")}</p><p class="note">Ask your administrator for a new activation link.</p>`,
    );
  return page(
    "Set your password",
    `<h1>Welcome, ${escapeHtml(opts.name)}</h1>${opts.corpName ? `<p class="note">${escapeHtml(opts.corpName)}</p>` : ""}
     <p class="note">Choose a password: at least 10 characters, mixing 3 of lower-case, upper-case, digits, other characters.</p>
     ${opts.error ? `<p class="error" role="alert">${escapeHtml(opts.error)}</p>` : ""}
     <form method="post">${hiddenInputs(opts.hidden ?? {})}
     <label for="password">New password</label><input type="password" id="password" name="password" autocomplete="new-password" required>
     <label for="password_again">New password, again</label><input type="password" id="password_again" name="password_again" autocomplete="new-password" required>
     <button type="submit">Set password</button></form>`,
  );
}
