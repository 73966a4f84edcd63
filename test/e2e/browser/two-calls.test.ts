/** Two calls at once in real Chromium: the view stays on the watched call, new calls are announced, a restart leaves no ghost. */
import t from 'tap'
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import type { Page } from 'playwright-core'
import type { CallEvent } from '../../../src/call/events.ts'
import { buildTestApp, listen, TEST_AUTH_TOKEN } from '../../helpers.ts'
import { FAKE_ACCOUNT_SID, startFakeTwilioRest } from '../../../fakes/twilio-rest.ts'
import { callSidFor, scriptedCall } from './call-script.ts'
import { CHROMIUM, launchChromium, logInPage } from './harness.ts'

/**
 * Runs before any page script: a Notification stand-in that records permission requests and notifications,
 * a settable page visibility, and a count of WebAudio oscillators started (the beep itself is real WebAudio).
 */
const STUBS = `(() => {
  const rec = { permissionRequests: 0, notifications: [], beeps: 0, visibility: 'visible' }
  window.__rec = rec
  class FakeNotification {
    static permission = 'default'
    static requestPermission () { rec.permissionRequests++; FakeNotification.permission = 'granted'; return Promise.resolve('granted') }
    constructor (title, o) { rec.notifications.push({ title, body: o && o.body, tag: o && o.tag }); rec.last = this }
    close () {}
  }
  Object.defineProperty(window, 'Notification', { value: FakeNotification, configurable: true, writable: true })
  Object.defineProperty(Document.prototype, 'visibilityState', { get () { return rec.visibility }, configurable: true })
  const start = OscillatorNode.prototype.start
  OscillatorNode.prototype.start = function (...a) { rec.beeps++; return start.apply(this, a) }
})()`

interface Rec { permissionRequests: number, notifications: Array<{ title: string, body: string, tag: string }>, beeps: number, visibility: string }
const rec = (page: Page): Promise<Rec> => page.evaluate(() => (window as unknown as { __rec: Rec }).__rec)
const selected = (page: Page): Promise<string | null> => page.evaluate(() => (window as unknown as { talkhint: { selected: string | null } }).talkhint.selected)
/** Waits until the page's store holds `n` transcript lines of `sid` (all its published events were applied). */
const linesApplied = (page: Page, sid: string, n: number): Promise<unknown> =>
  page.waitForFunction(([s, k]) => ((window as unknown as { talkhint: { store: { calls: Map<string, { lines: unknown[] }> } } }).talkhint.store.calls.get(s as string)?.lines.length ?? 0) >= (k as number), [sid, n])
/** Counts changes of the header's duration from now on. */
const watchTimer = (page: Page): Promise<void> => page.evaluate(() => {
  const w = window as unknown as { __ticks: number }
  w.__ticks = 0
  new MutationObserver(() => { w.__ticks++ }).observe(document.getElementById('c-duration') as HTMLElement, { childList: true, characterData: true, subtree: true })
})
const ticks = (page: Page): Promise<number> => page.evaluate(() => (window as unknown as { __ticks: number }).__ticks)

const ARTIFACTS = fileURLToPath(new URL('../../artifacts/', import.meta.url))

const stop = (callSid: string): CallEvent => ({ type: 'call.stopped', callSid, at: Date.now(), streamSid: `MZ${callSid.slice(2)}`, reason: 'stop', durationMs: 30_000, stats: {} as never })

if (!existsSync(CHROMIUM)) {
  t.plan(0, `skip: ${CHROMIUM} is missing; install it with: apt-get update && apt-get install -y chromium`)
} else {
  mkdirSync(ARTIFACTS, { recursive: true })
  const { open } = await launchChromium(t)

  t.test('a second call never takes the screen: toast, title count, View; the watched call stays after it ends; sound and notification opt-in', async (t) => {
    const app = await buildTestApp(t)
    const base = await listen(app)
    const { page, problems } = await open(base, STUBS)
    await logInPage(page)
    t.equal((await rec(page)).permissionRequests, 0, 'no notification permission asked on load')
    t.equal(await page.getAttribute('#sound-toggle', 'aria-pressed'), 'false', 'sound is off by default')
    t.equal(await page.getAttribute('#toasts', 'role'), 'status')
    t.equal(await page.getAttribute('#toasts', 'aria-live'), 'polite')

    const a = callSidFor(0xa)
    const b = callSidFor(0xb)
    for (const e of scriptedCall({ callSid: a, from: '+14155550111', turns: 1, open: true, firstLine: 'This is call A speaking.', t0: Date.now() - 20_000 })) app.bus.publish(e)
    await page.waitForSelector('#c-remote:text("+1 415 555 0111")')
    await page.waitForSelector('#transcript .line .text:text("This is call A speaking.")')
    t.equal((await page.$$('#toasts .toast')).length, 0, 'the first call is simply shown, no toast')

    for (const e of scriptedCall({ callSid: b, from: '+14155550122', turns: 1, open: true, firstLine: 'Call B here.', t0: Date.now() - 2_000 })) app.bus.publish(e)
    const toastB = page.locator(`#toasts .toast[data-sid="${b}"]`)
    await toastB.waitFor()
    await linesApplied(page, b, 2)
    t.equal(await toastB.locator('.toast-text').textContent(), 'New call from +1 415 555 0122', 'the toast names the new call')
    t.equal(await selected(page), a, 'the view stayed on A')
    t.equal(await page.textContent('#c-remote'), '+1 415 555 0111', 'the header shows A')
    t.ok((await page.locator('#transcript .line .text').allTextContents()).includes('This is call A speaking.'), 'the transcript is A\'s')
    t.notOk((await page.locator('#transcript .line .text').allTextContents()).includes('Call B here.'), 'nothing of B in it')
    await page.waitForFunction(() => document.title === '(2) TalkHint · Live')
    await page.screenshot({ path: join(ARTIFACTS, 'new-call-toast-desktop.png') })
    await page.setViewportSize({ width: 390, height: 844 })
    await page.screenshot({ path: join(ARTIFACTS, 'new-call-toast-phone.png') })
    await page.setViewportSize({ width: 1280, height: 800 })
    t.equal((await rec(page)).beeps, 0, 'no sound while the toggle is off')
    t.equal((await rec(page)).notifications.length, 0)

    // Keyboard: the toast's View button switches to B, the toast goes, focus lands on the call.
    await page.focus(`#toasts .toast[data-sid="${b}"] .toast-view`)
    await page.keyboard.press('Enter')
    await page.waitForSelector('#c-remote:text("+1 415 555 0122")')
    await page.waitForSelector('#transcript .line .text:text("Call B here.")')
    t.equal(await toastB.count(), 0, 'the toast is gone once its call is on screen')
    t.equal(await page.evaluate(() => document.activeElement?.id), 'call-view')

    // A ends while B is watched, then B ends: the view stays on B, shown as ended; nothing jumps.
    app.bus.publish(stop(a))
    await page.waitForSelector(`#recent-calls li[data-sid="${a}"]`)
    await page.waitForFunction(() => document.title === '(1) TalkHint · Live')
    t.equal(await selected(page), b)
    app.bus.publish(stop(b))
    await page.waitForSelector('#c-phase[data-phase="ended"]:text("Ended")')
    t.equal(await selected(page), b, 'the ended call stays on screen')
    t.equal(await page.textContent('#c-remote'), '+1 415 555 0122')
    t.ok(await page.locator('#c-ai').isHidden(), 'no "AI ready" on an ended call')
    t.equal(await page.title(), 'TalkHint · Live')

    // Still no jump for a new call after the watched one ended; a toast can be dismissed by keyboard.
    const c = callSidFor(0xc)
    for (const e of scriptedCall({ callSid: c, from: '+14155550133', turns: 1, open: true })) app.bus.publish(e)
    const toastC = page.locator(`#toasts .toast[data-sid="${c}"]`)
    await toastC.waitFor()
    await linesApplied(page, c, 2)
    t.equal(await selected(page), b, 'an ended call being read is not replaced by a new one')
    await page.focus(`#toasts .toast[data-sid="${c}"] .toast-view`)
    await page.keyboard.press('Escape')
    await toastC.waitFor({ state: 'detached' })
    t.equal(await selected(page), b, 'dismissing does not switch')

    // Sound: off by default (no beep so far), the toggle is remembered, a beep plays for the next call.
    await page.click('#sound-toggle')
    t.equal(await page.getAttribute('#sound-toggle', 'aria-pressed'), 'true')
    t.equal(await page.evaluate(() => localStorage.getItem('talkhint.newCallSound')), '1')
    const sample = (await rec(page)).beeps
    t.equal(sample, 1, 'turning it on plays one sample beep')

    // Notifications: the permission prompt only from the click; shown only while the page is hidden.
    await page.click('#notify-toggle')
    await page.waitForSelector('#notify-toggle[aria-pressed="true"]')
    t.equal((await rec(page)).permissionRequests, 1, 'the click asked for permission, once')
    const d = callSidFor(0xd)
    for (const e of scriptedCall({ callSid: d, from: '+14155550144', turns: 1, open: true })) app.bus.publish(e)
    await page.locator(`#toasts .toast[data-sid="${d}"]`).waitFor()
    t.equal((await rec(page)).notifications.length, 0, 'no desktop notification while the page is visible')
    t.equal((await rec(page)).beeps, sample + 1, 'one beep for the new call')
    await page.evaluate(() => { (window as unknown as { __rec: Rec }).__rec.visibility = 'hidden' })
    await page.click('#mask-toggle') // masked numbers are masked in the notification too
    const e = callSidFor(0xe)
    for (const ev of scriptedCall({ callSid: e, from: '+14155550155', turns: 1, open: true })) app.bus.publish(ev)
    await page.locator(`#toasts .toast[data-sid="${e}"]`).waitFor()
    t.same((await rec(page)).notifications, [{ title: 'New call', body: 'From +1 ••• ••• 0155', tag: e }], 'one notification, for the hidden page')
    t.equal(await page.textContent(`#toasts .toast[data-sid="${e}"] .toast-text`), 'New call from +1 ••• ••• 0155')
    t.equal((await rec(page)).beeps, sample + 2)
    await page.waitForFunction(() => document.title === '(3) TalkHint · Live')
    t.equal(await selected(page), b)
    // Clicking the notification opens that call.
    await page.evaluate(() => { (window as unknown as { __rec: { last: { onclick: () => void } } }).__rec.last.onclick() })
    await page.waitForSelector('#c-remote:text("+1 ••• ••• 0155")')
    t.equal(await selected(page), e, 'the notification\'s click shows its call')
    // The page is reloaded: the choices are remembered, and still no prompt on load.
    await page.reload()
    await page.waitForSelector('#conn:text("Live")')
    t.equal(await page.getAttribute('#sound-toggle', 'aria-pressed'), 'true')
    t.equal(await page.getAttribute('#notify-toggle', 'aria-pressed'), 'false', 'the stub forgets its grant on reload, so the toggle reads off')
    t.equal((await rec(page)).permissionRequests, 0, 'no prompt on load, even with the toggle stored on')
    await page.mouse.click(640, 790) // any first click lets the remembered sound play
    const f = callSidFor(0xf)
    for (const ev of scriptedCall({ callSid: f, from: '+14155550177', turns: 1, open: true })) app.bus.publish(ev)
    await page.locator(`#toasts .toast[data-sid="${f}"]`).waitFor()
    t.equal((await rec(page)).beeps, 1, 'the remembered sound beeps for the next call')
    // A burst of calls: at most three notices, the newest ones (the list has them all).
    const burst = [0x10, 0x11, 0x12].map(callSidFor)
    for (const [i, sid] of burst.entries()) for (const ev of scriptedCall({ callSid: sid, from: `+1415555020${i}`, turns: 1, open: true })) app.bus.publish(ev)
    await page.locator(`#toasts .toast[data-sid="${burst[2]}"]`).waitFor()
    t.same(await page.locator('#toasts .toast').evaluateAll((els) => els.map((el) => (el as HTMLElement).dataset.sid)), burst, 'three notices, the oldest gave way')
    for (const sid of [c, d, e, f, ...burst]) app.bus.publish(stop(sid))
    t.same(problems, [], 'no dialog, script error or CSP violation')
  })

  t.test('after a server restart the call it forgot is "Ended (server restarted)": no Live pill, the timer stops, the ringing message clears', async (t) => {
    const twilio = await startFakeTwilioRest({ accountSid: FAKE_ACCOUNT_SID, authToken: TEST_AUTH_TOKEN })
    t.teardown(() => twilio.close())
    const env = { TWILIO_ACCOUNT_SID: FAKE_ACCOUNT_SID, TWILIO_API_BASE_URL: twilio.url }
    const first: FastifyInstance = await buildTestApp(t, env)
    const base = await listen(first)
    const port = (first.server.address() as AddressInfo).port
    const { page, problems } = await open(base, STUBS)
    await logInPage(page)

    // Click-to-call through the real API (fake Twilio REST): the form says the phone rings, the call is selected.
    await page.fill('#dial-to', '+14155550166')
    const [res] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/api/calls')), page.click('#dial-go')])
    t.equal(res.status(), 201)
    const sid = (await res.json() as { callSid: string }).callSid
    await page.waitForSelector('#dial-msg[data-kind="ok"]:text("Ringing your phone now")')
    // The call comes up on the hub as the bridge reports it, under the CallSid the API returned.
    for (const e of scriptedCall({ callSid: sid, direction: 'outbound', from: '+15550002222', to: '+14155550166', turns: 1, open: true, t0: Date.now() - 5_000 })) first.bus.publish(e)
    await page.waitForSelector('#c-phase[data-phase="live"]:text("Live")')
    await page.waitForSelector('#c-ai:text("AI ready")')
    t.equal(await selected(page), sid, 'the call placed from the form is shown')
    await watchTimer(page)
    await page.waitForFunction(() => (window as unknown as { __ticks: number }).__ticks >= 1, undefined, { timeout: 3000 })
    t.ok(await ticks(page) >= 1, 'the header timer ticks while the call is live (the counter works)')

    // The server restarts (this process's app closes; a new one with no calls listens on the same port).
    await first.close()
    await page.waitForSelector('#conn:not(:text("Live"))')
    const second = await buildTestApp(t, env)
    await second.listen({ port, host: '127.0.0.1' })
    // A call that starts on the new server is announced, not shown (in the resync snapshot or as an event).
    const other = callSidFor(0x5e)
    for (const e of scriptedCall({ callSid: other, from: '+14155550188', turns: 1, open: true })) second.bus.publish(e)
    await page.waitForSelector('#conn:text("Live")', { timeout: 20_000 })
    await page.locator(`#toasts .toast[data-sid="${other}"]`).waitFor()
    await page.waitForSelector('#c-phase[data-phase="ended"]:text("Ended (server restarted)")')
    t.equal(await selected(page), sid, 'still on the same call, now ended')
    t.equal(await page.locator('.pill[data-phase="live"]').count(), 0, 'no Live pill anywhere')
    t.ok(await page.locator('#c-ai').isHidden(), 'no "AI ready" pill')
    t.same(await page.locator('#live-calls li').evaluateAll((els) => els.map((el) => (el as HTMLElement).dataset.sid)), [other], 'only the new server\'s call is live')
    t.equal(await page.textContent(`#recent-calls li[data-sid="${sid}"] .ci-ai`), 'Ended (server restarted)')
    t.equal(await page.title(), '(1) TalkHint · Live', 'the title counts only the call the server knows')
    t.equal(await page.getAttribute('#dial-msg', 'data-kind'), 'info', 'the ringing message is cleared')
    t.notMatch(await page.textContent('#dial-msg'), /Ringing/)
    const shown = await page.textContent('#c-duration')
    t.equal(await page.textContent(`#recent-calls li[data-sid="${sid}"] .ci-duration`), shown, 'list and header agree on the final duration')
    await watchTimer(page)
    await page.waitForTimeout(1500) // more than one tick of the 1 s timer
    t.equal(await ticks(page), 0, 'the timer stopped: no update after the end')
    t.equal(await page.textContent('#c-duration'), shown)
    second.bus.publish(stop(other))
    t.same(problems, [], 'no dialog, script error or CSP violation')
  })
}
