// One place that knows how to keep credentials in URLs out of logs, error messages and metric labels. Go's
// url.Redacted() writes the password as "xxxxx" and keeps the user; a lone user part is often a token
// (https://TOKEN@host), so that is replaced too.

const MASK = 'xxxxx';

// scheme://userinfo@ — userinfo runs to the last "@" before the host, as URL parsers read it ("a:b@c@host" has
// the password "b@c"); it cannot hold "/", "?", "#", whitespace or quotes, which end a URL inside a message.
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#"'<>`]*)@/gi;

/** Masks the userinfo of every URL in `text`; text without one comes back unchanged. */
export function redact(text: string): string {
  if (!text.includes('@')) return text;
  return text.replace(URL_USERINFO, (_m, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    return colon > 0 ? `${scheme}${userinfo.slice(0, colon)}:${MASK}@` : `${scheme}${MASK}@`;
  });
}

