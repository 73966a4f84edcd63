/** Dashboard test harness: a bare app with only the dashboard's plugins, logins, and real /ui sockets. */
import Fastify, { type FastifyInstance } from 'fastify'
import { once } from 'node:events'
import { WebSocket } from 'ws'
import core from '../../../plugins/core.ts'
import websocket from '../../../plugins/websocket.ts'
import metrics from '../../../plugins/metrics.ts'
import cluster from '../../../plugins/cluster.ts'
import storage from '../../../plugins/storage.ts'
import auth, { type AuthOptions } from '../../../plugins/auth.ts'
import hub, { type HubPluginOptions } from '../../../plugins/hub.ts'
import dashboard from '../../../plugins/dashboard.ts'
import { testConfig, TEST_DASHBOARD_TOKEN } from '../../helpers.ts'
import type { ServerMessage } from '../../../src/hub/schema.ts'

interface Teardown { teardown (fn: () => unknown): void }

export interface BareOptions {
  env?: Record<string, string | undefined>
  auth?: AuthOptions
  hub?: HubPluginOptions
  now?: () => number
}

/** core + websocket + auth + hub + dashboard (and the services they declare: metrics, cluster, storage) on a fresh Fastify, closed at teardown. */
export async function bareDashboardApp (t: Teardown, o: BareOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, trustProxy: true })
  t.teardown(() => app.close())
  await app.register(core, { config: testConfig(o.env), now: o.now })
  await app.register(websocket)
  await app.register(metrics)
  await app.register(auth, o.auth ?? {})
  await app.register(cluster)
  await app.register(storage)
  await app.register(hub, o.hub ?? {})
  await app.register(dashboard)
  await app.ready()
  return app
}

/** Logs in through POST /login and returns the Cookie header value for later requests. */
export async function loginCookie (app: FastifyInstance, token = TEST_DASHBOARD_TOKEN): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/login', payload: { token } })
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`)
  const set = res.headers['set-cookie']
  const first = Array.isArray(set) ? set[0] : set
  return (first ?? '').split(';')[0] as string
}

/** A real WebSocket to /ui that records every message; `next(pred)` waits for one. */
export class UiSocket {
  readonly ws: WebSocket
  readonly messages: ServerMessage[] = []
  closeCode: number | undefined
  #waiters: Array<{ pred: (m: ServerMessage) => boolean, resolve: (m: ServerMessage) => void }> = []

  constructor (url: string, headers: Record<string, string>) {
    this.ws = new WebSocket(url, { headers })
    this.ws.on('message', (data) => {
      const m = JSON.parse(data.toString()) as ServerMessage
      this.messages.push(m)
      this.#waiters = this.#waiters.filter((w) => {
        if (!w.pred(m)) return true
        w.resolve(m)
        return false
      })
    })
    this.ws.on('close', (code) => { this.closeCode = code })
    this.ws.on('error', () => {})
  }

  async opened (): Promise<this> {
    await once(this.ws, 'open')
    return this
  }

  next (pred: (m: ServerMessage) => boolean): Promise<ServerMessage> {
    const seen = this.messages.find(pred)
    if (seen !== undefined) return Promise.resolve(seen)
    return new Promise((resolve) => this.#waiters.push({ pred, resolve }))
  }

  send (obj: unknown): void { this.ws.send(JSON.stringify(obj)) }
  close (): void { this.ws.terminate() }
}

/** Tries to open /ui and reports how the handshake ended (status code of a refused upgrade). */
export async function upgradeStatus (url: string, headers: Record<string, string>): Promise<number> {
  const ws = new WebSocket(url, { headers })
  ws.on('error', () => {})
  return new Promise((resolve) => {
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0)
      ws.terminate()
    })
    ws.on('open', () => {
      resolve(101)
      ws.terminate()
    })
  })
}

/** Where Debian puts Chromium (apt-get install chromium); browser tests skip when it is missing. */
export const CHROMIUM = '/usr/bin/chromium'

export interface OpenedPage {
  page: import('playwright-core').Page
  /** Dialogs, script errors and console errors (CSP violations among them) seen on the page. */
  problems: string[]
}

/** One headless Chromium context on a fresh profile, closed (and the profile removed) at teardown. */
export async function launchContext (t: Teardown, viewport = { width: 1280, height: 800 }): Promise<import('playwright-core').BrowserContext> {
  const { chromium } = await import('playwright-core')
  const { mkdtempSync, rmSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const profile = mkdtempSync(join(tmpdir(), 'talkhint-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
  t.teardown(async () => {
    await context.close()
    rmSync(profile, { recursive: true, force: true })
  })
  return context
}

/**
 * One headless Chromium (fresh profile) closed at teardown. `open(base, init)` starts logged out, runs `init`
 * (a function source for page.addInitScript, e.g. stubs of browser APIs) before any page script, and loads `base/`.
 */
export async function launchChromium (t: Teardown, viewport = { width: 1280, height: 800 }): Promise<{ open: (base: string, init?: string) => Promise<OpenedPage> }> {
  const context = await launchContext(t, viewport)
  return {
    async open (base, init) {
      await context.clearCookies()
      const page = await context.newPage()
      if (init !== undefined) await page.addInitScript(init)
      const problems: string[] = []
      page.on('dialog', (d) => { problems.push(`dialog: ${d.message()}`); d.dismiss().catch(() => {}) })
      page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
      page.on('console', (m) => { if (m.type() === 'error' && !/status of 401|ERR_CONNECTION_REFUSED/.test(m.text())) problems.push(`console: ${m.text()}`) })
      await page.goto(base + '/')
      return { page, problems }
    },
  }
}

/** Logs in on the login page the dashboard redirected to and waits for the live socket. */
export async function logInPage (page: import('playwright-core').Page, token = TEST_DASHBOARD_TOKEN): Promise<void> {
  await page.fill('#token', token)
  await page.click('#login-go')
  await page.waitForSelector('#conn:text("Live")')
}

/** Opens a call from the live list; at phone width, while a call is live, the list is folded behind the switcher first. */
export async function pickCall (page: import('playwright-core').Page, sid: string): Promise<void> {
  // The list item and the layout (has-call) come from the same frame: once it is there, the switcher is decided.
  await page.waitForSelector(`#live-calls li[data-sid="${sid}"]`, { state: 'attached' })
  if (await page.locator('#switcher').isVisible() && await page.getAttribute('#switcher', 'aria-expanded') === 'false') await page.click('#switcher')
  await page.click(`#live-calls li[data-sid="${sid}"] button`)
}
