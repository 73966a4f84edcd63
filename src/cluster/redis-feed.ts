/** Cross-instance call events over Redis: pub/sub for live fan-out, per-call lists for snapshots. */
import { Redis } from 'ioredis'
import type { CallEventBus } from '../call/bus.ts'
import type { CallEvent } from '../call/events.ts'
import type { Logger } from '../log.ts'

/** What a dashboard hub consumes: this instance's events and every other instance's, in order per call. */
export interface EventFeed {
  subscribe (listener: (event: CallEvent) => void): () => void
}

/** One event as it travels between instances: origin instance and its sequence number. */
interface Envelope { o: string, s: number, e: CallEvent }

/** Kept after a call ends so a dashboard that connects a little later still sees it. */
const ENDED_TTL_S = 3600
/** High-rate, last-value-wins events are fanned out live but not kept in the per-call history. */
const NOT_KEPT = new Set<CallEvent['type']>(['call.levels', 'call.stats', 'hint.delta', 'transcript.partial'])
/** A safety net for a call whose instance died before `call.stopped`. */
const LIVE_TTL_S = 6 * 3600

export interface RedisFeedOptions {
  url: string
  instanceId: string
  bus: CallEventBus
  log: Logger
  /** Prefix of every Redis key and channel (several deployments can share one Redis). */
  namespace?: string
}

export interface RedisFeed extends EventFeed {
  /** Subscribes, replays the history of calls live elsewhere, then goes live (no gap, no duplicate). */
  start (): Promise<void>
  close (): Promise<void>
  readonly published: number
  readonly received: number
  /** True once start() has completed (subscribed and replayed). */
  readonly started: boolean
}

/**
 * Relays this instance's bus to Redis and other instances' events back. Publishing never awaits:
 * the media path calls `bus.publish` synchronously, and a Redis outage only costs fan-out
 * (logged once until it recovers), never a call.
 */
export function createRedisFeed (opts: RedisFeedOptions): RedisFeed {
  const ns = opts.namespace ?? 'talkhint'
  const CHANNEL = `${ns}:events`
  const LIVE_SET = `${ns}:live`
  const RECENT_ZSET = `${ns}:recent`
  const callKey = (callSid: string): string => `${ns}:call:${callSid}`
  const pub = new Redis(opts.url, { lazyConnect: true, enableAutoPipelining: true, maxRetriesPerRequest: 2 })
  const sub = new Redis(opts.url, { lazyConnect: true, maxRetriesPerRequest: null })
  const listeners = new Set<(event: CallEvent) => void>()
  const lastSeen = new Map<string, number>()
  let seq = 0
  let published = 0
  let received = 0
  let failing = false
  let buffering: Envelope[] | undefined = []
  let unsubscribeBus: (() => void) | undefined
  let started = false
  /** The clients' latest error: what start() reports instead of ioredis's bare "Connection is closed.". */
  let lastError: Error | undefined

  /** Connects a lazy client, or waits for one that is (re)connecting; rejects on its next error. */
  const ready = async (c: Redis): Promise<void> => {
    if (c.status === 'ready') return
    if (c.status === 'wait' || c.status === 'end') return await c.connect()
    await new Promise<void>((resolve, reject) => {
      const onReady = (): void => { c.off('error', onError); resolve() }
      const onError = (err: Error): void => { c.off('ready', onReady); reject(err) }
      c.once('ready', onReady)
      c.once('error', onError)
    })
  }

  const fail = (err: unknown): void => {
    if (!failing) opts.log.error({ err }, 'redis fan-out failed; dashboards on other instances may miss events until it recovers')
    failing = true
  }
  const deliver = (env: Envelope): void => {
    if (env.o === opts.instanceId) return
    if (env.s <= (lastSeen.get(env.o) ?? 0)) return // already replayed from history
    lastSeen.set(env.o, env.s)
    received++
    for (const l of listeners) l(env.e)
  }

  const relay = (event: CallEvent): void => {
    const text = JSON.stringify({ o: opts.instanceId, s: ++seq, e: event } satisfies Envelope)
    const ok = (): void => { published++; failing = false }
    const multi = pub.multi().publish(CHANNEL, text)
    if (!NOT_KEPT.has(event.type)) {
      multi.rpush(callKey(event.callSid), text)
      if (event.type === 'call.started') multi.sadd(LIVE_SET, event.callSid).expire(callKey(event.callSid), LIVE_TTL_S)
      if (event.type === 'call.stopped') {
        multi.srem(LIVE_SET, event.callSid).expire(callKey(event.callSid), ENDED_TTL_S)
          .zadd(RECENT_ZSET, event.at, event.callSid).zremrangebyscore(RECENT_ZSET, 0, event.at - ENDED_TTL_S * 1000)
      }
    }
    multi.exec().then(ok, fail)
  }

  sub.on('message', (_channel: string, text: string) => {
    let env: Envelope
    try {
      env = JSON.parse(text) as Envelope
    } catch {
      return
    }
    if (buffering !== undefined) buffering.push(env)
    else deliver(env)
  })
  // Until start() succeeds its caller reports failures (once, with the cause); after that, fail() logs them once.
  for (const c of [pub, sub]) c.on('error', (err: Error) => { lastError = err; if (started) fail(err) })

  return {
    get published () { return published },
    get received () { return received },
    subscribe (listener) {
      listeners.add(listener)
      const offBus = opts.bus.subscribe(listener)
      return () => { listeners.delete(listener); offBus() }
    },
    async start () {
      if (started) return
      // Safe to call again after a failure: a client that failed to connect keeps reconnecting on its own.
      await Promise.all([ready(pub), ready(sub)]).catch((err: unknown) => { throw lastError ?? err })
      await sub.subscribe(CHANNEL)
      unsubscribeBus ??= opts.bus.subscribe(relay)
      // Subscribed first, so nothing published from here on is missed; history fills what came before.
      const live = await pub.smembers(LIVE_SET)
      const recent = await pub.zrangebyscore(RECENT_ZSET, Date.now() - ENDED_TTL_S * 1000, '+inf')
      const sids = [...new Set([...live, ...recent])]
      const histories = await Promise.all(sids.map((sid) => pub.lrange(callKey(sid), 0, -1)))
      const replay: Envelope[] = []
      for (const text of histories.flat()) {
        try { replay.push(JSON.parse(text) as Envelope) } catch { /* skip a corrupt entry */ }
      }
      // Calls interleave within one origin's sequence: replay in origin order, or later ones look seen.
      replay.sort((a, b) => a.o === b.o ? a.s - b.s : a.o < b.o ? -1 : 1)
      for (const env of replay) deliver(env)
      const pending = buffering ?? []
      buffering = undefined
      for (const env of pending) deliver(env)
      started = true
      opts.log.info({ instanceId: opts.instanceId, replayedCalls: sids.length }, 'redis fan-out started')
    },
    get started () { return started },
    async close () {
      unsubscribeBus?.()
      listeners.clear()
      await Promise.allSettled([sub.quit(), pub.quit()])
    },
  }
}
