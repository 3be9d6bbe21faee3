// Where the API lives and what the user chose last time.
//
// The server defaults to this page's own origin + /janus (the daemon serves both). A
// different one can be given once with ?server=<url> (kept for the tab's lifetime) or at
// build time with VITE_JANUS_URL, e.g. to develop against another Janus-compatible server.

export function serverUrl(): string {
  const q = new URLSearchParams(window.location.search).get('server');
  if (q) sessionStorage.setItem('sb.server', q);
  const chosen = sessionStorage.getItem('sb.server') ?? import.meta.env.VITE_JANUS_URL;
  return (chosen || `${window.location.origin}/janus`).replace(/\/+$/, '');
}

/** ICE servers for PeerConnections with the SFU itself: the server has its own address,
 * so none are needed by default; ?ice=stun:host:port adds one. */
export function sfuIceServers(): RTCIceServer[] {
  const q = new URLSearchParams(window.location.search).get('ice');
  if (q) sessionStorage.setItem('sb.ice', q);
  const ice = sessionStorage.getItem('sb.ice');
  return ice ? [{ urls: ice }] : [];
}

export interface Prefs {
  name: string;
  cameraId: string;
  micId: string;
  startMuted: boolean;
  startCameraOff: boolean;
}

const PREFS_KEY = 'sb.prefs';
const defaults: Prefs = { name: '', cameraId: '', micId: '', startMuted: false, startCameraOff: false };

export function loadPrefs(): Prefs {
  try {
    return { ...defaults, ...JSON.parse(localStorage.getItem(PREFS_KEY) ?? '{}') };
  } catch {
    return { ...defaults };
  }
}

export function savePrefs(p: Partial<Prefs>): Prefs {
  const next = { ...loadPrefs(), ...p };
  localStorage.setItem(PREFS_KEY, JSON.stringify(next));
  return next;
}

/** This tab's choices (?server, ?ice, ?relay) as query parameters, for a link that opens
 * in a new tab (which starts with an empty sessionStorage). */
export function carriedParams(): URLSearchParams {
  const q = new URLSearchParams();
  const server = sessionStorage.getItem('sb.server');
  if (server) q.set('server', server);
  const ice = sessionStorage.getItem('sb.ice');
  if (ice) q.set('ice', ice);
  if (sessionStorage.getItem('sb.relay') === '1') q.set('relay', '1');
  return q;
}
