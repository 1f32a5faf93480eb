/**
 * Channel URLs hold secrets: Apprise URLs carry tokens and passwords in the
 * user info (mailtos://user:app-password@…), the path (slack://T…/B…/token,
 * ntfy topics), the query (?token=…) and sometimes the host itself (Telegram's
 * tgram://bot-token/chat). Only `redactUrl` forms ever leave the sidecar; every
 * text that may quote a URL (worker errors, log lines) goes through `scrub`.
 */

const MASK = '•••';

function hostIsName(host: string): boolean {
  // A host name or address can be shown; a bare token (no dot) cannot.
  return host === 'localhost' || host.startsWith('[') || /^[a-z0-9-]+(\.[a-z0-9-]+)+$/i.test(host);
}

function splitUrl(url: string): { scheme: string; userinfo: string; host: string; port: string; rest: string } | null {
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)(.*)$/is.exec(url.trim());
  if (!m) return null;
  const at = m[2].lastIndexOf('@');
  const userinfo = at >= 0 ? m[2].slice(0, at) : '';
  const hostport = at >= 0 ? m[2].slice(at + 1) : m[2];
  const pm = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(hostport);
  return { scheme: m[1].toLowerCase(), userinfo, host: pm ? pm[1] : hostport, port: pm?.[2] ?? '', rest: m[3] };
}

/** `ntfy://ntfy.sh/•••`, `mailtos://•••@gmail.com`, `tgram://•••/•••`: the service and where, never the secret. */
export function redactUrl(url: string): string {
  const p = splitUrl(url);
  if (!p) return MASK;
  const user = p.userinfo ? `${MASK}@` : '';
  const host = p.host && hostIsName(p.host) ? p.host + (p.port ? `:${p.port}` : '') : p.host ? MASK : '';
  const rest = p.rest && p.rest !== '/' ? `/${MASK}` : '';
  return `${p.scheme}://${user}${host}${rest}`;
}

/** Every piece of a URL that may be a secret, longest first. */
export function secretsOf(url: string): string[] {
  const out = new Set<string>([url, url.trim()]);
  const p = splitUrl(url);
  if (p) {
    for (const piece of [p.userinfo, ...p.userinfo.split(':')]) out.add(piece);
    // A host that is not a name is a token, and so is each side of a colon in it (Telegram's 123456789:AAE…).
    if (p.host && !hostIsName(p.host)) for (const piece of [p.host, ...p.host.split(':')]) out.add(piece);
    const [path, query = ''] = p.rest.split('?', 2);
    for (const seg of path.split('/')) out.add(seg);
    for (const pair of query.split('&')) {
      const value = pair.slice(pair.indexOf('=') + 1);
      out.add(value);
    }
  }
  const decoded = [...out].map(s => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  });
  return [...new Set([...out, ...decoded])].filter(s => s.length >= 3).sort((a, b) => b.length - a.length);
}

/** `text` with every secret of these URLs masked. */
export function scrub(text: string, urls: Iterable<string>): string {
  let out = text;
  for (const url of urls) {
    for (const secret of secretsOf(url)) {
      if (out.includes(secret)) out = out.split(secret).join(MASK);
    }
  }
  return out;
}
