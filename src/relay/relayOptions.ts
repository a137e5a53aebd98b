import { EVENT_TYPES } from './relayEvent.js';

/** A bad relay option value: the CLI makes it a usage error (exit 2). Its message never holds a header value. */
export class RelayOptionError extends Error {}

/** --rate: `N/s` or `N` (requests a second), N > 0, fractions allowed (`0.5/s`). */
export function parseRate(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*s)?\s*$/.exec(text);
  const rate = m === null ? NaN : Number(m[1]);
  if (!(rate > 0) || rate > 1_000_000) throw new RelayOptionError('--rate must be N/s with N above 0 and at most 1000000 (e.g. 50/s)');
  return rate;
}

/** --types: a comma-separated subset of the event types; undefined (every applied event) when absent. */
export function parseTypes(text: string | undefined): ReadonlySet<string> | undefined {
  if (text === undefined) return undefined;
  const types = text.split(',').map((t) => t.trim().toLowerCase());
  const unknown = types.filter((t) => !(EVENT_TYPES as readonly string[]).includes(t));
  if (unknown.length > 0 || types.length === 0) throw new RelayOptionError(`--types takes ${EVENT_TYPES.join(', ')} (comma-separated); not '${unknown.join(',')}'`);
  return new Set(types);
}

/** The environment variable that gives the Authorization header without putting it on the command line. */
export const AUTHORIZATION_ENV = 'PAYRUN_RELAY_AUTHORIZATION';

/** Headers the relay sets itself: a --header cannot replace them. */
const OWN_HEADERS = new Set(['idempotency-key', 'content-type', 'content-length', 'host', 'transfer-encoding', 'connection']);

/**
 * Every --header "Name: value" (and PAYRUN_RELAY_AUTHORIZATION) as one object. An error names the
 * header, never its value: the value may be a secret.
 */
export function parseHeaders(given: readonly string[], env: NodeJS.ProcessEnv): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [index, text] of given.entries()) {
    const colon = text.indexOf(':');
    const name = colon < 0 ? '' : text.slice(0, colon).trim();
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw new RelayOptionError(`--header number ${index + 1} must be "Name: value"`);
    const value = text.slice(colon + 1).trim();
    if (/[\r\n\0]/.test(value)) throw new RelayOptionError(`--header ${name}: the value has a line break`);
    if (OWN_HEADERS.has(name.toLowerCase())) throw new RelayOptionError(`--header ${name}: the relay sets this header itself`);
    headers[name.toLowerCase()] = value;
  }
  const fromEnv = env[AUTHORIZATION_ENV];
  if (fromEnv !== undefined && fromEnv !== '') {
    if ('authorization' in headers) throw new RelayOptionError(`Authorization is given twice: by --header and by ${AUTHORIZATION_ENV}`);
    if (/[\r\n\0]/.test(fromEnv)) throw new RelayOptionError(`${AUTHORIZATION_ENV} has a line break`);
    headers.authorization = fromEnv.trim();
  }
  return headers;
}

/** --to: an http or https URL. */
export function parseEndpoint(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new RelayOptionError('--to must be an http:// or https:// URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RelayOptionError('--to must be an http:// or https:// URL');
  if (url.username !== '' || url.password !== '') throw new RelayOptionError('--to must not hold a user or password: use --header "Authorization: ..." or ' + AUTHORIZATION_ENV);
  return url;
}
