/** The live call view in headless Chromium: a ringing state you can trust, one duration, caller context, phone layout. */
import t from 'tap'
import { existsSync } from 'node:fs'
import type { Page } from 'playwright-core'
import type { CallEvent } from '../../../src/call/events.ts'
import { buildTestApp, listen, signedPost, ZERO_STATS } from '../../helpers.ts'
import { callSidFor, scriptedCall, scriptSpan } from './call-script.ts'
import { CHROMIUM, launchChromium, logInPage } from './harness.ts'

const XSS = '<img src=x onerror=alert(1)>'

/** Shifts a script so that its call is happening now (it started `ago` ms before its last event). */
function now (events: CallEvent[], ago = 0): CallEvent[] {
  const shift = Date.now() - ago - scriptSpan(events) - (events[0] as CallEvent).at
  return events.map((e) => ({ ...e, at: e.at + shift, ...(e.type === 'call.started' ? { startedAt: e.startedAt + shift } : {}) })) as CallEvent[]
}

const started = (callSid: string, direction: 'inbound' | 'outbound', remote: string): CallEvent => {
  const at = Date.now()
  return { type: 'call.started', callSid, at, streamSid: `MZ${callSid.slice(2)}`, mode: 'assist', direction, from: direction === 'inbound' ? remote : '+15550002222', to: direction === 'inbound' ? '+15550002222' : remote, tracks: ['inbound', 'outbound'], bidirectional: false, startedAt: at }
}
const stopped = (callSid: string): CallEvent => ({ type: 'call.stopped', callSid, at: Date.now(), streamSid: `MZ${callSid.slice(2)}`, reason: 'stop', durationMs: 0, stats: ZERO_STATS })

if (!existsSync(CHROMIUM)) {
  t.plan(0, `skip: ${CHROMIUM} is missing; install it with: apt-get update && apt-get install -y chromium`)
} else {
  const app = await buildTestApp(t)
  const base = await listen(app)
  const desktop = await launchChromium(t)
  const phone = await launchChromium(t, { width: 390, height: 844 })
  const open = async (browser: typeof desktop): Promise<{ page: Page, problems: string[] }> => {
    const opened = await browser.open(base)
    await logInPage(opened.page)
    return opened
  }
  const dialStatus = async (parent: string, CallStatus: string): Promise<void> => {
    const res = await app.inject(signedPost('/twilio/dial-status', { CallSid: `${parent}c`, ParentCallSid: parent, CallStatus, Direction: 'outbound-dial' }))
    if (res.statusCode !== 204) throw new Error(`dial-status ${res.statusCode} ${res.body}`)
  }
  const pill = (page: Page) => page.textContent('#c-phase')
  const listStatus = (page: Page, sid: string) => page.textContent(`li[data-sid="${sid}"] .ci-ai`)

  t.test('click-to-call: "Ringing your phone", then "Calling …" while the number rings, then Live, then Ended', async (t) => {
    const { page, problems } = await open(desktop)
    const sid = callSidFor(0x2a1)
    // The first leg rings your phone (Twilio's status callback, Direction=outbound-api).
    const status = await app.inject(signedPost('/twilio/call-status', { CallSid: sid, CallStatus: 'ringing', Direction: 'outbound-api' }))
    t.equal(status.statusCode, 204)
    await page.waitForSelector('#c-phase:text("Ringing your phone")')
    t.equal(await page.getAttribute('#c-phase', 'data-phase'), 'ringing')
    t.equal(await listStatus(page, sid), 'Ringing your phone', 'the list says the same')
    t.equal(await page.textContent('#c-duration'), '–:––', 'no media yet: no duration')
    // You answered: the webhook dials the number; the stream starts before the number picks up.
    await app.inject(signedPost('/twilio/call-status', { CallSid: sid, CallStatus: 'in-progress', Direction: 'outbound-api' }))
    app.bus.publish({ type: 'call.webhook', callSid: sid, at: Date.now(), mode: 'assist', direction: 'outbound', from: '+15550002222', to: '+14155550123', ai: true })
    await page.waitForSelector('#c-phase:text("Calling +1 415 555 0123…")')
    app.bus.publish(started(sid, 'outbound', '+14155550123'))
    await dialStatus(sid, 'initiated')
    await dialStatus(sid, 'ringing')
    await page.waitForSelector('#c-duration:text-matches("^0:0")')
    t.equal(await pill(page), 'Calling +1 415 555 0123…', 'media flows, but the number still rings: not Live')
    t.equal(await listStatus(page, sid), 'Calling…')
    await page.click('#mask-toggle')
    await page.waitForSelector('#c-phase:text("Calling +1 ••• ••• 0123…")')
    await page.click('#mask-toggle')
    // The number answers.
    await dialStatus(sid, 'in-progress')
    await page.waitForSelector('#c-phase:text("Live")')
    t.equal(await page.getAttribute('#c-phase', 'data-phase'), 'live')
    t.equal(await listStatus(page, sid), 'AI pending', 'live: the list shows the AI state again')
    app.bus.publish(stopped(sid))
    await page.waitForSelector('#c-phase:text("Ended")')
    t.same(problems, [])
  })

  t.test('click-to-call to a busy number ends saying "Busy"; an inbound assist call rings your phone until you answer', async (t) => {
    const { page, problems } = await open(desktop)
    const sid = callSidFor(0x2a2)
    app.bus.publish({ type: 'call.webhook', callSid: sid, at: Date.now(), mode: 'assist', direction: 'outbound', from: '+15550002222', to: '+14155550124', ai: true })
    app.bus.publish(started(sid, 'outbound', '+14155550124'))
    await dialStatus(sid, 'ringing')
    await page.waitForSelector('#c-phase:text("Calling +1 415 555 0124…")')
    await dialStatus(sid, 'busy')
    await page.waitForSelector('#c-phase:text("Live")')
    app.bus.publish({ type: 'call.status', callSid: sid, at: Date.now(), status: 'completed' })
    await page.waitForSelector('#c-phase:text("Busy")')
    t.equal(await listStatus(page, sid), 'Busy')

    const inbound = callSidFor(0x2a3)
    await page.click(`li[data-sid="${sid}"] button`) // stay on purpose, then look at the new call
    app.bus.publish({ type: 'call.webhook', callSid: inbound, at: Date.now(), mode: 'assist', direction: 'inbound', from: '+14155550125', to: '+15550002222', ai: true })
    app.bus.publish(started(inbound, 'inbound', '+14155550125'))
    await page.click(`li[data-sid="${inbound}"] button`)
    await page.waitForSelector('#c-phase:text("Ringing your phone")')
    await dialStatus(inbound, 'in-progress')
    await page.waitForSelector('#c-phase:text("Live")')
    app.bus.publish(stopped(inbound))
    t.same(problems, [])
  })

  t.test('the list and the header show the same duration at every tick, live and ended', async (t) => {
    const { page, problems } = await open(desktop)
    const sid = callSidFor(0x2a4)
    for (const e of now(scriptedCall({ callSid: sid, turns: 1, open: true }), 61_000)) app.bus.publish(e)
    await page.waitForSelector(`li[data-sid="${sid}"] .ci-duration:text-matches("^1:0")`)
    // Every change to either figure is compared once the page's work for it is done (a microtask later).
    await page.evaluate((sid) => {
      const w = window as unknown as { durationChecks: { same: number, differ: string[] } }
      w.durationChecks = { same: 0, differ: [] }
      const header = document.getElementById('c-duration') as HTMLElement
      const item = () => document.querySelector(`li[data-sid="${sid}"] .ci-duration`)?.textContent
      new MutationObserver(() => {
        const a = header.textContent
        const b = item()
        if (a === b) w.durationChecks.same++
        else w.durationChecks.differ.push(`${a} vs ${b}`)
      }).observe(document.getElementById('call-view')?.parentElement as HTMLElement, { subtree: true, characterData: true, childList: true })
    }, sid)
    await page.waitForFunction(() => (window as unknown as { durationChecks: { same: number, differ: string[] } }).durationChecks.same + (window as unknown as { durationChecks: { differ: string[] } }).durationChecks.differ.length >= 3)
    app.bus.publish(stopped(sid))
    await page.waitForSelector('#c-phase:text("Ended")')
    const checks = await page.evaluate(() => (window as unknown as { durationChecks: { same: number, differ: string[] } }).durationChecks)
    t.same(checks.differ, [], 'never two different durations on screen')
    t.ok(checks.same >= 3, `compared at ${checks.same} changes`)
    t.equal(await page.textContent('#c-duration'), await page.textContent(`li[data-sid="${sid}"] .ci-duration`), 'ended: the same final figure')
    t.same(problems, [])
  })

  t.test('caller context: name, earlier calls, the last summary, a timeline link, notes saved during the call', async (t) => {
    const { page, problems } = await open(desktop)
    const caller = '+14155550177'
    await app.store.updateContact(caller, { name: 'Ada Lovelace', notes: `Prefers email. ${XSS}` }, Date.now())
    const earlier = callSidFor(0x2a5)
    for (const e of now(scriptedCall({ callSid: earlier, from: caller, turns: 1 }), 3_600_000)) app.bus.publish(e)
    app.bus.publish({ type: 'call.summary', callSid: earlier, at: Date.now(), summary: `Asked about the bill increase. ${XSS}`, intent: 'billing', actionItems: [] })
    await app.recorder.idle()
    const sid = callSidFor(0x2a6)
    for (const e of now(scriptedCall({ callSid: sid, from: caller, turns: 1, open: true }))) app.bus.publish(e)
    await page.click(`li[data-sid="${sid}"] button`)
    await page.waitForSelector('#ctx-name:text("Ada Lovelace")')
    await page.waitForSelector('#ctx-count:text("1 earlier call")')
    t.equal(await page.textContent('#ctx-last'), `Last call: Asked about the bill increase. ${XSS}`, 'the summary, as text')
    t.equal(await page.getAttribute('#ctx-link', 'href'), '/history.html#/contact/%2B14155550177')
    t.equal(await page.textContent('#ctx-notes-preview'), `Prefers email. ${XSS}`)
    t.equal(await page.locator('#context img').count(), 0, 'no markup from stored text')

    // Keyboard: open the notes, edit, save.
    await page.focus('#ctx-notes-box > summary')
    await page.keyboard.press('Enter')
    await page.waitForSelector('#ctx-notes:visible')
    t.equal(await page.inputValue('#ctx-notes'), `Prefers email. ${XSS}`)
    await page.fill('#ctx-notes', 'Prefers email. Wants the 1G plan.')
    await page.focus('#ctx-save')
    await page.keyboard.press('Enter')
    await page.waitForSelector('#ctx-msg:text("Saved.")')
    t.equal((await app.store.contactHistory(caller, 10)).contact?.notes, 'Prefers email. Wants the 1G plan.', 'stored')
    t.equal(await page.textContent('#ctx-notes-preview'), 'Prefers email. Wants the 1G plan.')
    app.bus.publish(stopped(sid))

    // A number nothing is stored for: its first call, shown by number; notes can start there.
    const stranger = callSidFor(0x2a7)
    app.bus.publish({ type: 'call.started', callSid: stranger, at: Date.now(), streamSid: `MZ${stranger.slice(2)}`, mode: 'assist', direction: 'inbound', from: '+14155550999', to: '+15550002222', tracks: ['inbound', 'outbound'], bidirectional: false, startedAt: Date.now() })
    await page.click(`li[data-sid="${stranger}"] button`)
    await page.waitForSelector('#ctx-count:text("First call")')
    t.equal(await page.textContent('#ctx-name'), '+1 415 555 0999')
    t.ok(await page.locator('#ctx-last').isHidden())
    await page.click('#ctx-notes-box > summary')
    await page.fill('#ctx-name-input', 'Grace')
    await page.click('#ctx-save')
    await page.waitForSelector('#ctx-name:text("Grace")')
    t.equal((await app.store.contactHistory('+14155550999', 10)).contact?.name, 'Grace')
    app.bus.publish(stopped(stranger))
    t.same(problems, [])
  })

  t.test('phone 390×844: a live call comes first, the dial form and lists fold into a switcher; no sideways scrolling', async (t) => {
    const { page, problems } = await open(phone)
    const overflow = (): Promise<number> => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
    // Nothing live: the dial form and the list, as before; no switcher.
    t.ok(await page.locator('#dial').isVisible())
    t.ok(await page.locator('#switcher').isHidden())
    const a = callSidFor(0x2a8)
    const b = callSidFor(0x2a9)
    for (const e of now(scriptedCall({ callSid: a, from: '+14155550181', turns: 3, open: true }), 90_000)) app.bus.publish(e)
    for (const e of now(scriptedCall({ callSid: b, from: '+14155550182', turns: 1, open: true }), 10_000)) app.bus.publish(e)
    await page.waitForSelector('#c-remote:text("+1 415 555 0181")')
    await page.waitForSelector('#switcher:visible')
    t.ok(await page.locator('#dial').isHidden(), 'the dial form is folded')
    t.ok(await page.locator('#live-calls').isHidden(), 'the list is folded')
    t.equal(await page.getAttribute('#switcher', 'aria-expanded'), 'false')
    t.match(await page.textContent('#switcher'), /On \+1 415 555 0181 · 1 other live call/)
    const box = async (sel: string) => (await page.locator(sel).boundingBox()) ?? { x: 0, y: 9999, width: 0, height: 0 }
    const bar = await box('#switcher')
    t.ok((await box('.call-head')).y - (bar.y + bar.height) < 20, 'the call\'s header comes right after the switcher')
    t.ok((await box('.call-head')).y < 160, `the call's header is near the top (${(await box('.call-head')).y})`)
    const hint = await box('#hint-now')
    t.ok(hint.y + hint.height <= 844, `the current hint is above the fold (bottom ${hint.y + hint.height})`)
    t.ok((await box('.transcript-panel')).y < 844, 'the transcript starts above the fold')
    t.equal(await overflow(), 0, 'no horizontal overflow')

    // Keyboard: open the switcher, move to the other call, pick it; the switcher folds again.
    await page.focus('#switcher')
    await page.keyboard.press('Enter')
    t.equal(await page.getAttribute('#switcher', 'aria-expanded'), 'true')
    t.ok(await page.locator('#dial').isVisible(), 'unfolded: the dial form')
    t.equal(await overflow(), 0)
    await page.focus(`li[data-sid="${a}"] button`)
    await page.keyboard.press('ArrowUp') // newest first: B is above A
    await page.keyboard.press('Enter')
    await page.waitForSelector('#c-remote:text("+1 415 555 0182")')
    t.equal(await page.getAttribute('#switcher', 'aria-expanded'), 'false', 'picking a call folds the switcher')
    t.ok(await page.locator('#live-calls').isHidden())
    t.equal(await overflow(), 0)
    app.bus.publish(stopped(a))
    app.bus.publish(stopped(b))
    await page.waitForSelector('#c-phase:text("Ended")')
    await page.waitForSelector('#dial:visible')
    t.ok(await page.locator('#switcher').isHidden(), 'no live call: the dial form is back, no switcher')
    t.same(problems, [])
  })
}
