// A small typed client for the Janus-compatible HTTP API (REST + long-poll).
//
// One JanusSession per page feature: it creates the session, keeps it alive, runs one
// long-poll loop and routes every event to the handle it belongs to. Plugin requests
// answered later ("ack" then an event carrying the same transaction) resolve the promise
// of the request that caused them; everything else reaches the handle's listeners.
//
// The session reports two things the UI needs to show in plain words: whether the
// server is currently reachable (onConnection) and whether the session is gone for good
// (onLost: the server restarted, the session timed out), after which the caller builds a
// new session.

export type Json = Record<string, any>;

export interface PluginReply {
  data: Json;
  jsep?: RTCSessionDescriptionInit;
}

/** An error the server reported, or a network failure (code 0). */
export class JanusError extends Error {
  readonly code: number;
  readonly kind: 'api' | 'plugin' | 'network' | 'timeout';
  constructor(kind: JanusError['kind'], code: number, message: string) {
    super(message);
    this.kind = kind;
    this.code = code;
  }
}

const REQUEST_TIMEOUT_MS = 15000;
const EVENT_TIMEOUT_MS = 20000;
const KEEPALIVE_MS = 25000;

let txCounter = 0;
function newTransaction(): string {
  txCounter += 1;
  return `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}${txCounter}`;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function postJson(url: string, body: Json, signal?: AbortSignal): Promise<Json> {
  let res: Response;
  try {
    const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
    res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
  } catch {
    throw new JanusError('network', 0, 'The server could not be reached');
  }
  if (!res.ok) throw new JanusError('network', res.status, `The server answered HTTP ${res.status}`);
  try {
    return (await res.json()) as Json;
  } catch {
    throw new JanusError('network', 0, 'The server sent an unreadable reply');
  }
}

function apiError(reply: Json): JanusError {
  const e = reply.error ?? {};
  return new JanusError('api', Number(e.code) || 0, String(e.reason ?? 'Unknown error'));
}

interface Pending {
  handleId: number;
  resolve: (r: PluginReply) => void;
  reject: (e: JanusError) => void;
  timer: ReturnType<typeof setTimeout>;
}

export interface SessionOptions {
  /** Called with true/false when the server becomes reachable/unreachable. */
  onConnection?: (connected: boolean) => void;
  /** The session no longer exists on the server: build a new one. */
  onLost?: (reason: string) => void;
}

export class JanusSession {
  readonly server: string;
  readonly id: number;
  private handles = new Map<number, JanusHandle>();
  private pending = new Map<string, Pending>();
  private abort = new AbortController();
  private keepaliveTimer?: ReturnType<typeof setInterval>;
  private closed = false;
  private connected = true;
  private opts: SessionOptions;

  private constructor(server: string, id: number, opts: SessionOptions) {
    this.server = server;
    this.id = id;
    this.opts = opts;
  }

  /** Creates a session on the server and starts polling it. */
  static async create(server: string, opts: SessionOptions = {}): Promise<JanusSession> {
    const reply = await postJson(server, { janus: 'create', transaction: newTransaction() });
    if (reply.janus !== 'success') throw apiError(reply);
    const s = new JanusSession(server, Number(reply.data.id), opts);
    s.start();
    return s;
  }

  /** GET <server>/info: resolves when the server answers at all. */
  static async ping(server: string): Promise<Json> {
    let res: Response;
    try {
      res = await fetch(`${server}/info`, { signal: AbortSignal.timeout(4000) });
    } catch {
      throw new JanusError('network', 0, 'The server could not be reached');
    }
    if (!res.ok) throw new JanusError('network', res.status, `HTTP ${res.status}`);
    return (await res.json()) as Json;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  setOptions(opts: SessionOptions): void {
    this.opts = opts;
  }

  private start(): void {
    this.keepaliveTimer = setInterval(() => void this.keepalive(), KEEPALIVE_MS);
    void this.pollLoop();
  }

  private setConnected(c: boolean): void {
    if (c === this.connected) return;
    this.connected = c;
    this.opts.onConnection?.(c);
  }

  private lose(reason: string): void {
    if (this.closed) return;
    this.shutdown(new JanusError('network', 0, reason));
    this.opts.onLost?.(reason);
  }

  private shutdown(err: JanusError): void {
    this.closed = true;
    clearInterval(this.keepaliveTimer);
    this.abort.abort();
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
    for (const h of this.handles.values()) h.emitDetached();
    this.handles.clear();
  }

  private async keepalive(): Promise<void> {
    if (this.closed) return;
    try {
      const r = await this.request({ janus: 'keepalive' });
      if (r.janus === 'error' && r.error?.code === 458) this.lose('The session expired');
    } catch {
      /* the poll loop reports connectivity */
    }
  }

  private async pollLoop(): Promise<void> {
    let failures = 0;
    while (!this.closed) {
      try {
        const res = await fetch(`${this.server}/${this.id}?rid=${Date.now()}&maxev=10`, {
          signal: this.abort.signal,
          cache: 'no-store',
        });
        // API errors come with HTTP 200; a server that answers otherwise may still say
        // why in JSON (458 after a restart), so read the body whenever it parses.
        let body: any;
        try {
          body = await res.json();
        } catch {
          throw new Error(`HTTP ${res.status}`);
        }
        failures = 0;
        this.setConnected(true);
        for (const ev of Array.isArray(body) ? body : [body]) this.dispatch(ev);
      } catch {
        if (this.closed) return;
        failures += 1;
        this.setConnected(false);
        await sleep(Math.min(500 * failures, 3000));
      }
    }
  }

  private dispatch(ev: Json): void {
    switch (ev.janus) {
      case 'keepalive':
      case 'ack':
        return;
      case 'timeout':
        this.lose('The session timed out');
        return;
      case 'error':
        if (ev.error?.code === 458) this.lose('The server no longer knows this session');
        return;
    }
    const handle = this.handles.get(Number(ev.sender));
    if (ev.janus === 'event' && ev.transaction && this.pending.has(ev.transaction)) {
      const p = this.pending.get(ev.transaction)!;
      this.pending.delete(ev.transaction);
      clearTimeout(p.timer);
      const data: Json = ev.plugindata?.data ?? {};
      if (data.error_code !== undefined || (typeof data.error === 'string' && !data.result))
        p.reject(new JanusError('plugin', Number(data.error_code) || 0, String(data.error)));
      else p.resolve({ data, jsep: ev.jsep });
      return;
    }
    if (handle) handle.dispatch(ev);
  }

  /** Sends a session-level request (no handle). */
  async request(body: Json, handleId?: number): Promise<Json> {
    const path = handleId ? `${this.server}/${this.id}/${handleId}` : `${this.server}/${this.id}`;
    const reply = await postJson(path, { transaction: newTransaction(), ...body }, this.abort.signal);
    if (reply.janus === 'error' && reply.error?.code === 458) {
      this.lose('The server no longer knows this session');
    }
    return reply;
  }

  async attach(plugin: string, opaqueId?: string): Promise<JanusHandle> {
    const reply = await this.request({ janus: 'attach', plugin, opaque_id: opaqueId });
    if (reply.janus !== 'success') throw apiError(reply);
    const h = new JanusHandle(this, Number(reply.data.id), plugin);
    this.handles.set(h.id, h);
    return h;
  }

  /** Plugin message; resolves with the synchronous reply or the event that answers it. */
  async message(
    handleId: number,
    body: Json,
    jsep?: RTCSessionDescriptionInit,
    ackOnly = false,
  ): Promise<PluginReply> {
    if (this.closed) throw new JanusError('network', 0, 'The session is closed');
    const transaction = newTransaction();
    // Registered before sending: the answering event may come back on the long-poll
    // before the POST itself returns.
    const answered = new Promise<PluginReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(transaction);
        reject(new JanusError('timeout', 0, 'The server did not answer in time'));
      }, EVENT_TIMEOUT_MS);
      this.pending.set(transaction, { handleId, resolve, reject, timer });
    });
    answered.catch(() => {});
    let reply: Json;
    try {
      reply = await postJson(
        `${this.server}/${this.id}/${handleId}`,
        { janus: 'message', transaction, body, ...(jsep ? { jsep: { type: jsep.type, sdp: jsep.sdp } } : {}) },
        this.abort.signal,
      );
    } catch (e) {
      this.dropPending(transaction);
      throw e;
    }
    if (reply.janus === 'success') {
      this.dropPending(transaction);
      const data: Json = reply.plugindata?.data ?? {};
      if (data.error_code !== undefined)
        throw new JanusError('plugin', Number(data.error_code), String(data.error));
      return { data, jsep: reply.jsep };
    }
    if (reply.janus === 'error') {
      this.dropPending(transaction);
      if (reply.error?.code === 458) this.lose('The server no longer knows this session');
      throw apiError(reply);
    }
    if (ackOnly) {
      this.dropPending(transaction);
      return { data: {} };
    }
    return answered;
  }

  private dropPending(tx: string): void {
    const p = this.pending.get(tx);
    if (p) clearTimeout(p.timer);
    this.pending.delete(tx);
  }

  forget(handleId: number): void {
    this.handles.delete(handleId);
  }

  /** Destroys the session on the server (best effort) and stops polling. */
  async destroy(): Promise<void> {
    if (this.closed) return;
    const url = `${this.server}/${this.id}`;
    this.shutdown(new JanusError('network', 0, 'The session was closed'));
    try {
      await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ janus: 'destroy', transaction: newTransaction() }),
        keepalive: true,
        signal: AbortSignal.timeout(3000),
      });
    } catch {
      /* the server will time the session out */
    }
  }
}

export interface HandleListeners {
  /** An event not answering one of our requests: plugin data and an optional jsep. */
  onEvent?: (data: Json, jsep?: RTCSessionDescriptionInit) => void;
  /** A candidate of the server (null: end of candidates). */
  onTrickle?: (candidate: RTCIceCandidateInit | null) => void;
  onWebrtcUp?: () => void;
  onMedia?: (type: string, receiving: boolean) => void;
  onHangup?: (reason: string) => void;
  onSlowLink?: (uplink: boolean, lost: number) => void;
  onDetached?: () => void;
}

export class JanusHandle {
  readonly session: JanusSession;
  readonly id: number;
  readonly plugin: string;
  listeners: HandleListeners = {};
  private detached = false;

  constructor(session: JanusSession, id: number, plugin: string) {
    this.session = session;
    this.id = id;
    this.plugin = plugin;
  }

  on(l: HandleListeners): this {
    this.listeners = { ...this.listeners, ...l };
    return this;
  }

  send(body: Json, jsep?: RTCSessionDescriptionInit): Promise<PluginReply> {
    return this.session.message(this.id, body, jsep);
  }

  /** Fire-and-forget: resolves on the server's "ack". */
  post(body: Json): Promise<PluginReply> {
    return this.session.message(this.id, body, undefined, true);
  }

  async trickle(candidate: RTCIceCandidate | null): Promise<void> {
    if (this.detached || this.session.isClosed) return;
    const c = candidate
      ? { candidate: candidate.candidate, sdpMid: candidate.sdpMid, sdpMLineIndex: candidate.sdpMLineIndex }
      : { completed: true };
    try {
      await this.session.request({ janus: 'trickle', candidate: c }, this.id);
    } catch {
      /* candidates are best effort */
    }
  }

  async hangup(): Promise<void> {
    if (this.detached || this.session.isClosed) return;
    try {
      await this.session.request({ janus: 'hangup' }, this.id);
    } catch {
      /* ignore */
    }
  }

  async detach(): Promise<void> {
    if (this.detached) return;
    this.detached = true;
    this.session.forget(this.id);
    if (this.session.isClosed) return;
    try {
      await this.session.request({ janus: 'detach' }, this.id);
    } catch {
      /* the session teardown will clean it */
    }
  }

  emitDetached(): void {
    if (this.detached) return;
    this.detached = true;
    this.listeners.onDetached?.();
  }

  dispatch(ev: Json): void {
    const l = this.listeners;
    switch (ev.janus) {
      case 'event':
        l.onEvent?.(ev.plugindata?.data ?? {}, ev.jsep);
        break;
      case 'trickle': {
        const c = ev.candidate ?? {};
        l.onTrickle?.(c.completed ? null : c);
        break;
      }
      case 'webrtcup':
        l.onWebrtcUp?.();
        break;
      case 'media':
        l.onMedia?.(String(ev.type), Boolean(ev.receiving));
        break;
      case 'hangup':
        l.onHangup?.(String(ev.reason ?? 'hangup'));
        break;
      case 'slowlink':
        l.onSlowLink?.(Boolean(ev.uplink), Number(ev.lost ?? ev.nacks ?? 0));
        break;
      case 'detached':
        this.session.forget(this.id);
        this.emitDetached();
        break;
    }
  }
}
