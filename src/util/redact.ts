/**
 * Replaces the password of every URL in `s` (`mysql://user:***@host/db`) so it can be logged,
 * shown in an error or a `/readyz` reason: up to the last `@` of the URL (a password may hold an
 * unencoded `@`), stopping at quotes and spaces so it never runs past the URL in a JSON log line.
 * The one redaction of the service: the logger applies it to every line it writes.
 */
export function redactSecrets(s: string): string {
  return s.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s"']*:)[^\s"']*@/gi, '$1***@');
}
