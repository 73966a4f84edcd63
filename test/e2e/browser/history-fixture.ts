/** Shared by the history browser tests: whole calls published on the bus, and a logged-in history page. */
import type { FastifyInstance } from 'fastify'
import type { BrowserContext, Page } from 'playwright-core'
import type { CallEvent } from '../../../src/call/events.ts'
import { TEST_DASHBOARD_TOKEN } from '../../helpers.ts'

export interface SeedCall {
  sid: string
  from: string
  /** Webhook time (epoch ms); the media stream starts `streamAfterMs` later. */
  at: number
  streamAfterMs?: number
  /** [speaker, text, startMs] per final line, offsets from the stream start. */
  lines: ReadonlyArray<readonly ['remote' | 'operator', string, number]>
  /** [text, offset from the stream start in ms] per hint. */
  hints?: ReadonlyArray<readonly [string, number]>
}

/** Publishes a call as the webhooks, the media session and the hint engine would, and waits until it is stored. */
export async function seedCalls (app: FastifyInstance, calls: readonly SeedCall[]): Promise<void> {
  for (const c of calls) {
    const startedAt = c.at + (c.streamAfterMs ?? 1000)
    const events: CallEvent[] = [
      { type: 'call.webhook', callSid: c.sid, at: c.at, mode: 'assist', direction: 'inbound', from: c.from, to: '+15550002222', ai: true },
      { type: 'call.started', callSid: c.sid, at: startedAt, streamSid: `MZ${c.sid}`, mode: 'assist', direction: 'inbound', from: c.from, to: '+15550002222', tracks: ['inbound', 'outbound'], bidirectional: false, startedAt },
      ...c.lines.map(([speaker, text, startMs], i): CallEvent => ({ type: 'transcript.final', callSid: c.sid, at: startedAt + startMs + 900, itemId: `i${i}`, speaker, text, startMs, endMs: startMs + 800 })),
      ...(c.hints ?? []).map(([text, offset], i): CallEvent => ({ type: 'hint.done', callSid: c.sid, at: startedAt + offset, hintId: `h${i}`, text, itemId: 'i0', superseded: false })),
      { type: 'call.status', callSid: c.sid, at: startedAt + 120_000, status: 'completed', duration: 120 },
    ]
    for (const e of events) app.bus.publish(e)
  }
  await app.recorder.idle()
}

/**
 * A page on `base`/history.html`hash`, logged in with the dashboard token. `problems` collects dialogs, script
 * errors and console errors, except failed loads with the HTTP statuses in `expected` (a 404 the test asks for).
 */
export async function openHistory (context: BrowserContext, base: string, hash = '', expected: readonly number[] = []): Promise<{ page: Page, problems: string[] }> {
  const page = await context.newPage()
  const problems: string[] = []
  const allowed = new RegExp(`status of (401${expected.map((s) => `|${s}`).join('')})`)
  page.on('dialog', (d) => { problems.push(`dialog: ${d.message()}`); d.dismiss().catch(() => {}) })
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
  page.on('console', (m) => { if (m.type() === 'error' && !allowed.test(m.text())) problems.push(`console: ${m.text()}`) })
  await page.goto(`${base}/history.html`)
  if (page.url().endsWith('/login')) {
    await page.fill('#token', TEST_DASHBOARD_TOKEN)
    await page.click('#login-go')
    await page.waitForURL(`${base}/`)
  }
  await page.goto(`${base}/history.html${hash}`)
  return { page, problems }
}

/** The id of the focused element ('' for the body), as the page sees it. */
export function focusedId (page: Page): Promise<string> {
  return page.evaluate(() => document.activeElement?.id ?? '')
}

/** How far the page scrolls sideways: scrollWidth of the scrolling element minus the viewport width. */
export function overflowX (page: Page): Promise<number> {
  return page.evaluate(() => (document.scrollingElement?.scrollWidth ?? 0) - window.innerWidth)
}
