/** UI broadcast hub: call events in, a snapshot then sequenced UI events out, bounded per client. */
import type { CallEvent } from '../call/events.ts'
import type { Logger } from '../log.ts'
import { parseClientMessage, UI_SCHEMA_VERSION, type Scope, type SnapshotMessage, type UiCall, type UiEvent } from './schema.ts'
import { HubState, type StateOptions } from './state.ts'

/**
 * Where the hub's call events come from. The in-process bus (`app.bus`) is one; a Redis fan-out
 * (several instances) is another: it subscribes to the local bus, republishes to Redis,
 * and hands the hub local and remote events alike through this same interface.
 */
export interface CallEventSource {
  subscribe (listener: (event: CallEvent) => void): () => void
}

/** A dashboard connection, whatever the transport (a `ws` socket in production, a fake in tests). */
export interface HubClient {
  send (text: string): void
  /** Bytes accepted by send() but not yet written to the network. */
  readonly bufferedAmount: number
  close (code: number, reason: string): void
}

/** The hub's handle on one attached client. */
export interface HubConnection {
  /** A text message from the client (subscribe). */
  receive (text: string): void
  /** The client went away; forget it. */
  detach (): void
}

export interface HubOptions extends StateOptions {
  /** Attached at creation; omit to drive the hub with `ingest` only. */
  source?: CallEventSource
  log: Logger
  now?: () => number
  /** Messages waiting for the next flush, per client. Past it: close 1013. */
  maxQueued?: number
  /** ws bufferedAmount past which a client counts as not keeping up. Past it: close 1013. */
  maxBufferedBytes?: number
  heartbeatMs?: number
  /** Live calls with no event for this long are ended as `stale`. */
  staleMs?: number
  /** How flushes are deferred off the publisher's stack; setImmediate by default. */
  defer?: (fn: () => void) => void
}

export interface HubStats {
  readonly clients: number
  readonly calls: number
  readonly seq: number
  /** Clients closed with 1013 since start. */
  readonly dropped: number
  /** Messages handed to clients since start. */
  readonly sent: number
}

export interface Hub {
  /** Folds one call event in and fans out what it causes. Synchronous; never waits for a client. */
  ingest (event: CallEvent): void
  /** Attaches a client: it is sent a snapshot of `scope` now, then every later event in scope. */
  connect (client: HubClient, scope?: Scope): HubConnection
  snapshot (scope?: Scope): SnapshotMessage
  /** Adopts calls from elsewhere (see HubState.seed). */
  seed (calls: readonly UiCall[]): void
  /** Ends (or forgets for good) calls storage closed as interrupted at start-up (see HubState.interrupted). */
  interrupted (callSids: readonly string[]): void
  readonly stats: HubStats
  close (): void
}

/** Close code for a client that can't keep up (RFC 6455: "try again later"). */
export const CLOSE_TOO_SLOW = 1013
export const CLOSE_GOING_AWAY = 1001

interface Rec {
  client: HubClient
  scope: Scope
  queue: string[]
  dead: boolean
}

/** Creates the hub; call `close()` to stop its timers and release clients (1001). */
export function createHub (opts: HubOptions): Hub {
  const { log } = opts
  const now = opts.now ?? Date.now
  const maxQueued = opts.maxQueued ?? 2048
  const maxBuffered = opts.maxBufferedBytes ?? 4 * 1024 * 1024
  const staleMs = opts.staleMs ?? 10 * 60_000
  const defer = opts.defer ?? setImmediate
  const state = new HubState(opts)
  const everyCall = new Set<Rec>()
  const byCall = new Map<string, Set<Rec>>()
  const pending = new Set<Rec>()
  let flushScheduled = false
  let dropped = 0
  let sent = 0

  const flush = (): void => {
    flushScheduled = false
    for (const r of pending) {
      if (r.dead) continue
      if (r.client.bufferedAmount > maxBuffered) {
        drop(r, `send buffer over ${maxBuffered} bytes`)
        continue
      }
      const q = r.queue
      r.queue = []
      try {
        for (let i = 0; i < q.length; i++) r.client.send(q[i] as string)
        sent += q.length
      } catch (err) {
        log.warn({ err }, 'dashboard send failed; dropping the client')
        drop(r, 'send failed')
      }
    }
    pending.clear()
  }

  const enqueue = (r: Rec, text: string): void => {
    if (r.dead) return
    r.queue.push(text)
    if (r.queue.length > maxQueued) return drop(r, `more than ${maxQueued} messages queued`)
    pending.add(r)
    if (!flushScheduled) {
      flushScheduled = true
      defer(flush)
    }
  }

  const remove = (r: Rec): void => {
    if (r.scope === '*') {
      everyCall.delete(r)
      return
    }
    const set = byCall.get(r.scope)
    set?.delete(r)
    if (set?.size === 0) byCall.delete(r.scope)
  }

  const add = (r: Rec): void => {
    if (r.scope === '*') {
      everyCall.add(r)
      return
    }
    let set = byCall.get(r.scope)
    if (set === undefined) byCall.set(r.scope, (set = new Set()))
    set.add(r)
  }

  function drop (r: Rec, why: string): void {
    if (r.dead) return
    r.dead = true
    r.queue = []
    remove(r)
    pending.delete(r)
    dropped++
    log.warn({ why, scope: r.scope }, 'dropping a dashboard that cannot keep up (1013)')
    try {
      r.client.close(CLOSE_TOO_SLOW, 'too slow: reconnect to resync')
    } catch {}
  }

  // One JSON.stringify per event, shared by every recipient; none at all when nobody listens.
  const fanOut = (ev: UiEvent): void => {
    const one = byCall.get(ev.callSid)
    if (everyCall.size === 0 && one === undefined) return
    const text = JSON.stringify(ev)
    for (const r of everyCall) enqueue(r, text)
    if (one !== undefined) for (const r of one) enqueue(r, text)
  }

  const snapshot = (scope: Scope = '*'): SnapshotMessage => ({
    type: 'snapshot', v: UI_SCHEMA_VERSION, seq: state.seq, scope, serverTime: now(), calls: state.calls(scope),
  })

  const heartbeat = setInterval(() => {
    state.sweep(now(), staleMs, fanOut)
    const text = JSON.stringify({ type: 'heartbeat', seq: state.seq, serverTime: now() })
    for (const r of everyCall) enqueue(r, text)
    for (const set of byCall.values()) for (const r of set) enqueue(r, text)
  }, opts.heartbeatMs ?? 15_000)
  heartbeat.unref()

  const unsubscribe = opts.source?.subscribe((event) => hub.ingest(event))

  const hub: Hub = {
    ingest (event) {
      state.apply(event, fanOut, now())
    },
    connect (client, scope = '*') {
      const r: Rec = { client, scope, queue: [], dead: false }
      add(r)
      // Synchronous with ingest: nothing can be published between the snapshot and the first event.
      enqueue(r, JSON.stringify(snapshot(scope)))
      return {
        receive (text) {
          if (r.dead) return
          const parsed = parseClientMessage(text)
          if (!parsed.ok) {
            enqueue(r, JSON.stringify({ type: 'error', code: 'bad_message', message: parsed.reason }))
            return
          }
          remove(r)
          r.scope = parsed.message.callSid
          add(r)
          enqueue(r, JSON.stringify(snapshot(r.scope)))
        },
        detach () {
          if (r.dead) return
          r.dead = true
          remove(r)
          pending.delete(r)
        },
      }
    },
    snapshot,
    seed (calls) {
      state.seed(calls, now(), fanOut)
    },
    interrupted (callSids) {
      state.interrupted(callSids, now(), fanOut)
    },
    get stats () {
      let clients = everyCall.size
      for (const set of byCall.values()) clients += set.size
      return { clients, calls: state.size, seq: state.seq, dropped, sent }
    },
    close () {
      clearInterval(heartbeat)
      unsubscribe?.()
      for (const r of [...everyCall, ...[...byCall.values()].flatMap((s) => [...s])]) {
        r.dead = true
        try {
          r.client.close(CLOSE_GOING_AWAY, 'server shutting down')
        } catch {}
      }
      everyCall.clear()
      byCall.clear()
      pending.clear()
    },
  }
  return hub
}
