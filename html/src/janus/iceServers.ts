// Short-lived TURN credentials for each call: GET <api>/ice-servers answers
//   {"iceServers":[{"urls":[...],"username":"<expiry>:sb","credential":"..."}],"ttl":86400}
// ({"iceServers":[],"ttl":0} when the server has no TURN). They are fetched right before
// a call's first PeerConnection and shared by all of that call's PeerConnections; one
// still open after ttl/2 fetches again for the PeerConnections it makes later. Never kept
// across calls. Any failure (older server: 404, rate limit: 429, network, bad JSON, no
// answer in FETCH_TIMEOUT_MS) only warns: the call goes on with the ICE servers it was
// configured with.
//
// ?relay=1 on any page (kept for the tab, ?relay=0 clears it) makes every PeerConnection
// relay-only (iceTransportPolicy 'relay'), so that a test can force TURN.

export interface IceServerList {
  iceServers: RTCIceServer[];
  /** Seconds the credentials stay valid; 0: nothing expires. */
  ttl: number;
}

const FETCH_TIMEOUT_MS = 3000;
/** After a failed fetch, a call that is still open tries again this much later. */
const RETRY_AFTER_FAILURE_MS = 60_000;
const RELAY_KEY = 'sb.relay';

const SCHEME = /^(stuns?|turns?):/i;
const TURN = /^turns?:/i;

/** One entry as the browser will accept it, or null (RTCPeerConnection throws on an
 * unknown scheme, or on a TURN URL without username and credential). */
function toIceServer(e: unknown): RTCIceServer | null {
  if (!e || typeof e !== 'object') return null;
  const { urls, username, credential } = e as Record<string, unknown>;
  const list = (Array.isArray(urls) ? urls : [urls]).filter((u): u is string => typeof u === 'string' && SCHEME.test(u));
  if (!list.length) return null;
  const hasUser = typeof username === 'string' && typeof credential === 'string';
  if (!hasUser && list.some((u) => TURN.test(u))) return null;
  return hasUser ? { urls: list, username: username as string, credential: credential as string } : { urls: list };
}

/** The body of GET /ice-servers; throws when it is not one (unusable entries are dropped). */
export function parseIceServers(body: unknown): IceServerList {
  if (!body || typeof body !== 'object') throw new Error('the reply is not a JSON object');
  const b = body as Record<string, unknown>;
  if (b.janus === 'error') {
    const err = (b.error ?? {}) as Record<string, unknown>;
    throw new Error(`the server answered error ${String(err.code ?? '?')}: ${String(err.reason ?? '')}`);
  }
  if (!Array.isArray(b.iceServers)) throw new Error('the reply has no iceServers list');
  const iceServers = b.iceServers.map(toIceServer).filter((s): s is RTCIceServer => s !== null);
  if (iceServers.length < b.iceServers.length)
    console.warn(`ice-servers: ignored ${b.iceServers.length - iceServers.length} unusable entr${b.iceServers.length - iceServers.length === 1 ? 'y' : 'ies'}`);
  const ttl = typeof b.ttl === 'number' && Number.isFinite(b.ttl) && b.ttl > 0 ? b.ttl : 0;
  return { iceServers, ttl };
}

/** GET <server>/ice-servers; throws on any failure. */
export async function fetchIceServers(server: string, timeoutMs = FETCH_TIMEOUT_MS, fetchFn: typeof fetch = fetch): Promise<IceServerList> {
  const res = await fetchFn(`${server}/ice-servers`, { cache: 'no-store', signal: AbortSignal.timeout(timeoutMs) });
  let body: unknown;
  try {
    body = await res.json();
  } catch (e) {
    throw new Error(res.ok ? `the reply could not be read as JSON (${e instanceof Error ? e.message : String(e)})` : `HTTP ${res.status}`);
  }
  if (!res.ok) {
    const reason = (body as { error?: { reason?: unknown } } | null)?.error?.reason;
    throw new Error(`HTTP ${res.status}${typeof reason === 'string' ? ` (${reason})` : ''}`);
  }
  return parseIceServers(body);
}

function storage(): Storage | undefined {
  try {
    return typeof sessionStorage === 'undefined' ? undefined : sessionStorage;
  } catch {
    return undefined;
  }
}

/** ?relay=1 (or true/yes) on the page URL, kept for the tab; ?relay=0 clears it. */
export function relayOnly(): boolean {
  const store = storage();
  const q = typeof location === 'undefined' ? null : new URLSearchParams(location.search).get('relay');
  const on = q !== null ? /^(1|true|yes|on)$/i.test(q) : store?.getItem(RELAY_KEY) === '1';
  if (q !== null) store?.setItem(RELAY_KEY, on ? '1' : '0');
  return on;
}

// Read at load: the app's own navigation drops the query string before any call starts.
relayOnly();

/** The ICE servers of one call: construct one per call, call config() for each of its
 * PeerConnections. */
export class CallIce {
  private pending?: Promise<RTCConfiguration>;
  private expires = 0;

  /** configured: the ICE servers used so far (kept, and all there is if the fetch fails). */
  constructor(
    private server: string,
    private configured: RTCIceServer[] = [],
    private opts: { relay?: boolean; timeoutMs?: number; fetchFn?: typeof fetch; now?: () => number } = {},
  ) {}

  config(): Promise<RTCConfiguration> {
    const now = (this.opts.now ?? Date.now)();
    if (!this.pending || now >= this.expires) {
      this.expires = Infinity; // until the fetch below settles
      this.pending = this.load(now);
    }
    return this.pending;
  }

  private async load(started: number): Promise<RTCConfiguration> {
    let turn: RTCIceServer[] = [];
    try {
      const list = await fetchIceServers(this.server, this.opts.timeoutMs, this.opts.fetchFn);
      turn = list.iceServers;
      this.expires = list.ttl > 0 ? started + (list.ttl * 1000) / 2 : Infinity;
    } catch (e) {
      console.warn(`ice-servers: no TURN credentials for this call (${e instanceof Error ? e.message : String(e)})`);
      this.expires = started + RETRY_AFTER_FAILURE_MS;
    }
    return {
      iceServers: [...this.configured, ...turn],
      iceTransportPolicy: (this.opts.relay ?? relayOnly()) ? 'relay' : 'all',
    };
  }
}
