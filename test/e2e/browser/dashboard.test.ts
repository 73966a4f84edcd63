import t from 'tap'
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import type { BrowserContext, Page } from 'playwright-core'
import type { CallEvent } from '../../../src/call/events.ts'
import { buildTestApp, listen, TEST_AUTH_TOKEN, TEST_BASE_URL, TEST_DASHBOARD_TOKEN } from '../../helpers.ts'
import { callSidFor, HINTS, LOCAL, REMOTE, scriptedCall, scriptSpan } from './call-script.ts'

const CHROMIUM = '/usr/bin/chromium'
const ARTIFACTS = fileURLToPath(new URL('../../artifacts/', import.meta.url))
const XSS = '<img src=x onerror=alert(1)>'
const DESKTOP = { width: 1280, height: 800 }
const PHONE = { width: 390, height: 844 }

/** One headless Chromium for the file (fresh profile); every page is watched for dialogs, script errors and CSP violations. */
async function launch (): Promise<{ context: BrowserContext, open: (base: string) => Promise<{ page: Page, problems: string[] }> }> {
  const { chromium } = await import('playwright-core')
  const profile = mkdtempSync(join(tmpdir(), 'talkhint-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: DESKTOP,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
  t.teardown(async () => {
    await context.close()
    rmSync(profile, { recursive: true, force: true })
  })
  return {
    context,
    async open (base) {
      await context.clearCookies() // every test starts logged out
      const page = await context.newPage()
      const problems: string[] = []
      page.on('dialog', (d) => { problems.push(`dialog: ${d.message()}`); d.dismiss().catch(() => {}) })
      page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
      page.on('console', (m) => { if (m.type() === 'error' && !/status of 401/.test(m.text())) problems.push(`console: ${m.text()}`) })
      await page.goto(base + '/')
      return { page, problems }
    },
  }
}

async function logIn (page: Page, token = TEST_DASHBOARD_TOKEN): Promise<void> {
  await page.fill('#token', token)
  await page.click('#login-go')
}

const texts = (page: Page, sel: string): Promise<string[]> => page.locator(sel).allTextContents()

if (!existsSync(CHROMIUM)) {
  t.plan(0, `skip: ${CHROMIUM} is missing; install it with: apt-get update && apt-get install -y chromium`)
} else {
  mkdirSync(ARTIFACTS, { recursive: true })
  const { open } = await launch()
  // One app for the bus-driven tests (the hub does not care which mode the app runs in).
  const app = await buildTestApp(t)
  const base = await listen(app)
  t.test('log in, watch a live call stream in order, injected markup stays text, the call ends', async (t) => {
    const { page, problems } = await open(base)
    t.match(page.url(), /\/login$/, 'the page sends a logged-out visitor to the login page')

    await logIn(page, 'this-is-not-the-token')
    await page.waitForSelector('#login-msg:text("That token is not right.")')
    t.match(page.url(), /\/login$/, 'a wrong token is refused')

    await logIn(page)
    await page.waitForURL(base + '/')
    await page.waitForSelector('#conn:text("Live")')

    const sid = callSidFor(0xa11)
    const script = scriptedCall({ callSid: sid, turns: 3, open: true })
    // Shift the call so it is happening now (durations and "into the call" times read naturally).
    const shift = Date.now() - scriptSpan(script) - script[0]!.at
    const events = script.map((e) => ({ ...e, at: e.at + shift, ...(e.type === 'call.started' ? { startedAt: e.startedAt + shift } : {}) })) as CallEvent[]
    const publish = (e: CallEvent): void => app.bus.publish(e)
    const upTo = (pred: (e: CallEvent) => boolean): void => {
      while (events.length > 0) {
        const e = events.shift() as CallEvent
        publish(e)
        if (pred(e)) return
      }
    }
    upTo((e) => e.type === 'call.started')
    await page.waitForSelector('#live-calls .ci-number:text("+1 415 555 0123")')
    await page.waitForSelector('#c-remote:text("+1 415 555 0123")')
    t.equal(await page.textContent('#c-kind'), 'Inbound · Assist')

    // A partial line shows up, then is replaced in place (same element) and settles when final.
    upTo((e) => e.type === 'transcript.partial')
    const partial = page.locator('#transcript .line.partial.remote')
    await partial.waitFor()
    t.equal(await partial.getAttribute('data-item-id'), 'item_r0')
    const handle = await partial.elementHandle()
    upTo((e) => e.type === 'transcript.final')
    await page.waitForSelector('#transcript .line.final.remote[data-item-id="item_r0"]')
    t.equal(await handle?.evaluate((el) => el.classList.contains('final')), true, 'the same element settled')
    t.equal(await page.locator('#transcript .line').count(), 1)

    // The hint streams in (caret while writing), then settles.
    upTo((e) => e.type === 'hint.delta')
    await page.waitForSelector('#hint-now.streaming .hint-text:text("Acknowledge the")')
    upTo((e) => e.type === 'hint.done')
    await page.waitForSelector(`#hint-now:not(.streaming) .hint-text:text("${HINTS[0]}")`)

    upTo(() => false) // the rest: the operator answers, two more turns, two more hints
    await page.waitForSelector('#transcript .line.final.operator[data-item-id="item_l2"]')
    t.same(await texts(page, '#transcript .line .who'), ['Caller', 'You', 'Caller', 'You', 'Caller', 'You'], 'both speakers, clearly apart')
    t.same(await texts(page, '#transcript .line .text'), [REMOTE[0], LOCAL[0], REMOTE[1], LOCAL[1], REMOTE[2], LOCAL[2]], 'in spoken order')
    await page.waitForSelector(`#hint-now .hint-text:text("${HINTS[2]}")`)
    t.same(await texts(page, '#hint-list .hint-text'), [HINTS[1], HINTS[0]], 'older hints below the newest, newest first')
    t.match(await page.textContent('#t-label'), /^Caller \d+% · You \d+%$/)

    publish({ type: 'call.levels', callSid: sid, at: Date.now(), inbound: 0.72, outbound: 0.08 })
    await page.waitForFunction(() => getComputedStyle(document.getElementById('m-remote') as HTMLElement).getPropertyValue('--level') === '0.72')
    await page.waitForTimeout(300) // let the meter's 180 ms transition finish before the picture
    await page.screenshot({ path: join(ARTIFACTS, 'live-call-desktop.png') })
    await page.setViewportSize(PHONE)
    await page.screenshot({ path: join(ARTIFACTS, 'live-call-phone.png'), fullPage: true })
    await page.setViewportSize(DESKTOP)

    const startedAt = await page.evaluate((sid) => (window as unknown as { talkhint: { store: { calls: Map<string, { startedAt: number }> } } }).talkhint.store.calls.get(sid)?.startedAt ?? 0, sid)
    const stopAt = startedAt + 93_000
    publish({ type: 'call.stopped', callSid: sid, at: stopAt, streamSid: `MZ${sid.slice(2)}`, reason: 'stop', durationMs: stopAt - startedAt, stats: {} as never })
    // The final figure is the hub's endedAt − startedAt: the clock the live tick used.
    await page.waitForSelector(`#recent-calls li[data-sid="${sid}"] .ci-duration:text("1:33")`)
    t.equal(await page.textContent('#c-duration'), '1:33', 'the header says the same')
    await page.waitForSelector('#c-phase:text("Ended")')
    t.equal(await page.locator('#live-calls li').count(), 0)
    t.equal(await page.locator('#transcript .line').count(), 6, 'the transcript stays readable after the end')
    t.equal(await page.locator('#hint-list .hint').count(), 2)

    // Whatever a caller says is text: markup in a transcript line never becomes an element.
    const evil = callSidFor(0xbad)
    for (const e of scriptedCall({ callSid: evil, turns: 1, from: '+14155550199', firstLine: `My name is ${XSS} and I want a refund` })) publish(e)
    await page.click(`#recent-calls li[data-sid="${evil}"] button`)
    await page.waitForSelector('#transcript .line[data-item-id="item_r0"] .text:text("I want a refund")')
    t.equal(await page.textContent('#transcript .line[data-item-id="item_r0"] .text'), `My name is ${XSS} and I want a refund`, 'markup is shown as text')
    t.equal(await page.locator('#transcript img').count(), 0, 'no element was created from it')
    t.same(problems, [], 'no dialog, script error or CSP violation')
  })

  t.test('reconnects by itself, says so while down, and resyncs what it missed', async (t) => {
    const { page, problems } = await open(base)
    await logIn(page)
    await page.waitForSelector('#conn:text("Live")')
    const sid = callSidFor(0xa12)
    const events = scriptedCall({ callSid: sid, mode: 'agent', turns: 1, open: true, t0: Date.now() - 10_000 })
    for (const e of events) app.bus.publish(e)
    await page.waitForSelector('#c-agent:text("Agent speaking")')
    app.bus.publish({ type: 'agent.state', callSid: sid, at: Date.now(), state: 'thinking' })
    await page.waitForSelector('#c-agent:text("Agent thinking")')

    // Cut every dashboard socket: the page must notice, say so, and come back on its own.
    const server = (app as unknown as { websocketServer: { clients: Set<{ terminate (): void }> } }).websocketServer
    for (const c of server.clients) c.terminate()
    await page.waitForSelector('#banner:not([hidden]) #banner-text:text("Connection lost")')
    await page.waitForSelector('body.offline')
    app.bus.publish({ type: 'transcript.final', callSid: sid, at: Date.now(), itemId: 'while_down', speaker: 'remote', text: 'Said while you were offline', startMs: 60_000, endMs: 61_000 })
    await page.waitForSelector('#conn:text("Live")')
    await page.waitForSelector('#transcript .line[data-item-id="while_down"] .text:text("Said while you were offline")')
    await page.waitForSelector('#banner-text:text("back in sync")')
    t.equal(await page.locator('body.offline').count(), 0)
    app.bus.publish({ type: 'call.stopped', callSid: sid, at: Date.now(), streamSid: `MZ${sid.slice(2)}`, reason: 'stop', durationMs: 1000, stats: {} as never })
    t.same(problems, [])
  })

  t.test('auto-scroll follows live until you scroll up; "Jump to live" resumes; the call list works by keyboard', async (t) => {
    const { page, problems } = await open(base)
    await logIn(page)
    await page.waitForSelector('#conn:text("Live")')
    const a = callSidFor(0xc01)
    const b = callSidFor(0xc02)
    for (const e of scriptedCall({ callSid: a, from: '+14155550111', turns: 1, open: true, t0: Date.now() - 60_000 })) app.bus.publish(e)
    for (const e of scriptedCall({ callSid: b, from: '+14155550122', turns: 12, open: true, t0: Date.now() - 5_000 })) app.bus.publish(e)
    await page.click(`#live-calls li[data-sid="${b}"] button`) // the view stays on the first call until you pick another
    await page.waitForSelector('#c-remote:text("+1 415 555 0122")')
    await page.waitForSelector('#transcript .line[data-item-id="item_l11"]')
    const gap = (): Promise<number> => page.$eval('#transcript', (el) => el.scrollHeight - el.scrollTop - el.clientHeight)
    t.ok(await page.$eval('#transcript', (el) => el.scrollHeight > el.clientHeight * 1.5), 'the transcript overflows')
    await page.waitForFunction(() => { const el = document.getElementById('transcript') as HTMLElement; return el.scrollHeight - el.scrollTop - el.clientHeight < 2 })
    t.ok(await page.locator('#jump').isHidden(), 'following live: no jump button')

    await page.$eval('#transcript', (el) => { el.scrollTop = 0 }) // the user scrolls up to reread
    await page.waitForTimeout(50)
    app.bus.publish({ type: 'transcript.final', callSid: b, at: Date.now(), itemId: 'late_1', speaker: 'remote', text: 'A new line while you were reading', startMs: 600_000, endMs: 601_000 })
    await page.waitForSelector('#transcript .line[data-item-id="late_1"]')
    await page.waitForSelector('#jump:visible')
    t.equal(await page.$eval('#transcript', (el) => el.scrollTop), 0, 'a new line did not yank the view down')
    await page.click('#jump')
    await page.waitForFunction(() => { const el = document.getElementById('transcript') as HTMLElement; return el.scrollHeight - el.scrollTop - el.clientHeight < 2 })
    t.ok(await page.locator('#jump').isHidden())
    app.bus.publish({ type: 'transcript.final', callSid: b, at: Date.now(), itemId: 'late_2', speaker: 'operator', text: 'And following again', startMs: 602_000, endMs: 603_000 })
    await page.waitForSelector('#transcript .line[data-item-id="late_2"]')
    await page.waitForFunction(() => { const el = document.getElementById('transcript') as HTMLElement; return el.scrollHeight - el.scrollTop - el.clientHeight < 2 })
    t.ok(await gap() < 2, 'back to following the newest line')

    // Keyboard: Tab into the list, arrows move between calls, Enter opens one.
    await page.focus(`#live-calls li[data-sid="${b}"] button`)
    await page.keyboard.press('ArrowDown')
    t.equal(await page.evaluate(() => (document.activeElement as HTMLElement).closest('li')?.dataset.sid), a)
    await page.keyboard.press('Enter')
    await page.waitForSelector('#c-remote:text("+1 415 555 0111")')
    t.equal(await page.getAttribute(`#live-calls li[data-sid="${a}"] button`, 'aria-current'), 'true')
    for (const sid of [a, b]) app.bus.publish({ type: 'call.stopped', callSid: sid, at: Date.now(), streamSid: `MZ${sid.slice(2)}`, reason: 'stop', durationMs: 1000, stats: {} as never })
    t.same(problems, [])
  })

  t.test('the call form shows the API\'s own error next to the field; logging out ends the session', async (t) => {
    const { page } = await open(base)
    await logIn(page)
    await page.waitForSelector('#conn:text("Live")')
    await page.fill('#dial-to', '12345')
    await page.press('#dial-to', 'Enter')
    await page.waitForSelector('#dial-msg[data-kind="error"]:text("international form")')
    t.equal(await page.getAttribute('#dial-to', 'aria-invalid'), 'true')
    await page.fill('#dial-to', '+14155550123')
    await page.click('#dial-go')
    await page.waitForSelector('#dial-msg[data-kind="error"]:text("Click-to-call needs TWILIO_ACCOUNT_SID")')

    // An AI agent call: the purpose field appears with the mode, is required, and the API's refusal is shown.
    t.equal(await page.isVisible('#dial-purpose'), false, 'no purpose field for a copilot call')
    await page.selectOption('#dial-mode', 'agent')
    await page.waitForSelector('#dial-purpose', { state: 'visible' })
    await page.click('#dial-go')
    await page.waitForSelector('#dial-msg[data-kind="error"]:text("the purpose")')
    t.equal(await page.evaluate(() => document.activeElement?.id), 'dial-purpose', 'focus goes to the missing purpose')
    await page.fill('#dial-purpose', 'Confirm the appointment on Tuesday at 3 pm')
    await page.press('#dial-purpose', 'Enter')
    await page.waitForSelector('#dial-msg[data-kind="error"]:text("An AI agent call needs TWILIO_ACCOUNT_SID")')
    await page.selectOption('#dial-mode', 'assist')
    await page.waitForSelector('#dial-purpose', { state: 'hidden' })

    // Logging out ends the session: the page is the login page again, and so is any later visit.
    await page.click('button:text("Log out")')
    await page.waitForURL(base + '/login')
    await page.goto(base + '/')
    t.match(page.url(), /\/login$/)
  })

  t.test('npm run call through the real bridge shows up live', async (t) => {
    const { startFakeRealtime } = await import('../../../fakes/realtime-server.ts')
    const { startFakeOpenAI } = await import('../../../fakes/openai-http.ts')
    const { startOpenAIProxy } = await import('./openai-proxy.ts')
    const key = 'sk-test-browser-key'
    const said = new Map<number, string>([[0, `I'd like to cancel ${XSS} unless you can do better`], [1, 'Let me see what I can offer you.']])
    let n = 0
    const rt = await startFakeRealtime({
      apiKey: key,
      // Scripted VAD and transcription: each track's session hears one utterance once 0.6 s of audio arrived.
      onAppend: (conn) => {
        const c = conn as typeof conn & { scripted?: boolean }
        if (c.kind !== 'transcription' || c.scripted === true || c.appendedMs < 600) return
        c.scripted = true
        const item = c.speechStarted({ audioStartMs: 100 })
        c.speechStopped(item, 550)
        c.transcribe(item, said.get(n++ % 2) as string)
      },
    })
    t.teardown(() => rt.close())
    // Hints are plain text; the post-call summary asks for JSON (structured output).
    const summary = JSON.stringify({ summary: 'Wants to cancel unless offered a better deal.', intent: 'cancel subscription', action_items: ['Send the retention offer'] })
    const responses = await startFakeOpenAI({ apiKey: key, reply: (req) => (req.body?.text === undefined ? 'Offer two months free before they cancel.' : summary) })
    t.teardown(() => responses.close())
    const proxy = await startOpenAIProxy(rt.url, responses.url)
    t.teardown(() => proxy.close())

    const ai: FastifyInstance = await buildTestApp(t, { OPENAI_API_KEY: key, OPENAI_BASE_URL: proxy.url })
    const aiBase = await listen(ai)
    const { page, problems } = await open(aiBase)
    await logIn(page)
    await page.waitForSelector('#conn:text("Live")')

    // `npm run call` itself, as a user would start it from another terminal.
    const cli = spawn(process.execPath, [fileURLToPath(new URL('../../../tools/call.ts', import.meta.url)), '--server', aiBase,
      '--public-base-url', TEST_BASE_URL, '--auth-token', TEST_AUTH_TOKEN, '--speed', '4', '--from', '+442079460958', '--to', '+15550002222', '--no-dashboard'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '' } })
    t.teardown(() => { cli.kill('SIGKILL') })
    let cliOut = ''
    cli.stdout.on('data', (d: Buffer) => { cliOut += d.toString() })
    cli.stderr.on('data', (d: Buffer) => { cliOut += d.toString() })
    const sim = new Promise<number | null>((resolve) => cli.on('exit', (code) => resolve(code)))
    await page.waitForSelector('.ci-number:text("+44 207 946 0958")')
    await page.waitForSelector('#c-ai:text("AI ready")')
    await page.waitForSelector('#transcript .line.final .text:text("unless you can do better")')
    await page.waitForSelector('#transcript .line.final.operator .text:text("Let me see what I can offer you.")')
    await page.waitForSelector('#hint-now .hint-text:text("Offer two months free before they cancel.")')
    t.equal(await page.locator('#transcript .line.remote .text').first().textContent(), `I'd like to cancel ${XSS} unless you can do better`)
    t.equal(await sim, 0, `npm run call exited 0 (a clean call):\n${cliOut}`)
    t.match(cliOut, /summary: OK/)
    await page.waitForSelector('#recent-calls .ci-number:text("+44 207 946 0958")')
    await page.waitForSelector('#c-phase:text("Ended")')
    await page.waitForSelector('#summary:not([hidden]) #summary-text:text("Wants to cancel unless offered a better deal.")')
    t.same(await texts(page, '#summary-items li'), ['Send the retention offer'])
    t.equal(await page.locator('#transcript img').count(), 0)
    t.same(problems, [])
  })
}
