/**
 * Secrets (DSN passwords, tokens, keys) must never reach logs, posts, argv or error messages.
 * Every string that leaves the process through a boundary passes through redact().
 */
const registered = new Set<string>();

/** Remember a secret value so every later redact() call hides it, wherever it appears. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 4) registered.add(value);
}

const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]+:)([^@\s/]+)(@)/gi;
const MYSQL_DSN_PASSWORD = /(^|[\s"'=])([^:\s"'@/]+:)([^@\s"']+)(@tcp\()/g;
const KEY_VALUE = /((?:password|passwd|pwd|secret|token|access_key|secret_key)["']?\s*[=:]\s*["']?)([^\s"'&,;]+)/gi;

/** Returns `text` with every known and recognisable secret replaced by `***`. */
export function redact(text: string): string {
  let out = text.replace(URL_PASSWORD, '$1***$3').replace(MYSQL_DSN_PASSWORD, '$1$2***$4').replace(KEY_VALUE, '$1***');
  for (const secret of registered) out = out.split(secret).join('***');
  return out;
}
