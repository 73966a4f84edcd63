/** Test harness for the realtime bridge: the real app on loopback, the fake Realtime API, Twilio media clients. */
import type { FastifyInstance } from 'fastify'
import type { AppDeps } from '../src/app.ts'
import type { CallEvent } from '../src/call/events.ts'
import { buildTestApp, listen } from './helpers.ts'
import { FAKE_OPENAI_KEY, startFakeRealtime, type FakeRealtimeOptions, type FakeRealtimeServer } from '../fakes/realtime-server.ts'
import { TwilioMediaClient, type MediaCallOptions } from '../fakes/twilio-media-client.ts'

interface T { teardown (fn: () => unknown): void }

export interface Harness {
  readonly fake: FakeRealtimeServer
  readonly app: FastifyInstance
  readonly base: string
  /** Every call event published on the bus, in order. */
  readonly events: CallEvent[]
  call (opts: Omit<MediaCallOptions, 'base'>): Promise<TwilioMediaClient>
  waitEvent<E extends CallEvent = CallEvent> (test: (e: CallEvent) => boolean, timeoutMs?: number): Promise<E>
}

let sid = 0
/** A fresh CallSid (CA + 32 hex), unique per test run. */
export function callSid (): string {
  return 'CA' + (Date.now().toString(16) + (++sid).toString(16).padStart(6, '0')).padStart(32, '0')
}

/** Starts the fake, then the app pointed at it through OPENAI_BASE_URL (no other switch); `deps` as for buildApp (clock, logger). */
export async function realtimeHarness (t: T, overrides: Record<string, string | undefined> = {}, fakeOpts: FakeRealtimeOptions = {}, deps: AppDeps = {}): Promise<Harness> {
  const fake = await startFakeRealtime(fakeOpts)
  t.teardown(() => fake.close())
  const app = await buildTestApp(t, { OPENAI_API_KEY: FAKE_OPENAI_KEY, OPENAI_BASE_URL: fake.url, ...overrides }, deps)
  const base = await listen(app)
  const events: CallEvent[] = []
  const waiters: Array<{ test: (e: CallEvent) => boolean, resolve: (e: CallEvent) => void }> = []
  app.bus.subscribe((e) => {
    events.push(e)
    for (const w of [...waiters]) {
      if (w.test(e)) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve(e)
      }
    }
  })
  return {
    fake,
    app,
    base,
    events,
    async call (opts) {
      const c = await TwilioMediaClient.open({ base, ...opts })
      t.teardown(() => c.close())
      return c
    },
    waitEvent<E extends CallEvent> (test: (e: CallEvent) => boolean, timeoutMs = 5000): Promise<E> {
      const hit = events.find(test)
      if (hit !== undefined) return Promise.resolve(hit as E)
      return new Promise<E>((resolve, reject) => {
        const w = { test, resolve: (e: CallEvent) => { clearTimeout(timer); resolve(e as E) } }
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1)
          reject(new Error(`no matching call event within ${timeoutMs} ms`))
        }, timeoutMs)
        waiters.push(w)
      })
    },
  }
}

/** 20 ms of distinct μ-law bytes for frame `n` (base64), so any loss or reorder is visible. */
export function frame (n: number, bytes = 160): string {
  const buf = Buffer.alloc(bytes)
  for (let i = 0; i < bytes; i++) buf[i] = (n * 31 + i * 7) & 0xff
  return buf.toString('base64')
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
