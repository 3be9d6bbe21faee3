// The game's wire format: small JSON objects, one per data channel message.
//
// On the "game" channel (unordered, maxRetransmits 0), 30 times a second from each player:
//   {"k":"s","n":812,"t":53120.4,"x":412.5,"y":230.1,"p":3,"d":17,"e":{"<id36>":[52988.1,12.4]}}
//     n  sequence number (stale or duplicate states are dropped: the channel is unordered)
//     t  the sender's clock (performance.now(), ms) when it sent this state
//     x,y its ball, p its score, d the dot it believes is current
//     e  echoes: for (up to 3, round robin) other players, the last "t" received from them
//        and how long ago (ms) it was received. A player finding its own id in there gets
//        the round trip through the SFU: now - t - hold, with its own clock only.
// On the "events" channel (reliable, ordered):
//   {"k":"claim","d":17}             a player touches dot 17 (to the dot's owner)
//   {"k":"taken","d":17,"by":"<id36>"}  the owner gives dot 17 to a player; next is 18
//   {"k":"hi"}                      when a player first hears us (opens the relay channel)
// Ids travel in base 36 (a 16-digit publisher id takes 11 characters).

export interface StateMsg {
  k: 's';
  n: number;
  t: number;
  x: number;
  y: number;
  p: number;
  d: number;
  e?: Record<string, [number, number]>;
}

export interface ClaimMsg {
  k: 'claim';
  d: number;
}

export interface TakenMsg {
  k: 'taken';
  d: number;
  by: string;
}

export type GameMsg = StateMsg | ClaimMsg | TakenMsg;

export const id36 = (id: number): string => id.toString(36);
export const fromId36 = (s: string): number => parseInt(s, 36);

const r1 = (v: number) => Math.round(v * 10) / 10;

export function encodeState(m: Omit<StateMsg, 'k'>): string {
  const out: StateMsg = { k: 's', n: m.n, t: r1(m.t), x: r1(m.x), y: r1(m.y), p: m.p, d: m.d };
  if (m.e && Object.keys(m.e).length) out.e = m.e;
  return JSON.stringify(out);
}

const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Parses and checks one message; null for anything malformed. */
export function decode(data: string | ArrayBuffer): GameMsg | null {
  if (typeof data !== 'string' || data.length > 4096) return null;
  let m: any;
  try {
    m = JSON.parse(data);
  } catch {
    return null;
  }
  if (!m || typeof m !== 'object') return null;
  switch (m.k) {
    case 's': {
      if (![m.n, m.t, m.x, m.y, m.p, m.d].every(num)) return null;
      const e: Record<string, [number, number]> = {};
      if (m.e && typeof m.e === 'object')
        for (const [k, v] of Object.entries(m.e))
          if (Array.isArray(v) && v.length === 2 && num(v[0]) && num(v[1])) e[k] = [v[0], v[1]];
      return { k: 's', n: m.n, t: m.t, x: m.x, y: m.y, p: m.p, d: m.d, e };
    }
    case 'claim':
      return num(m.d) ? { k: 'claim', d: m.d } : null;
    case 'taken':
      return num(m.d) && typeof m.by === 'string' ? { k: 'taken', d: m.d, by: m.by } : null;
  }
  return null;
}
