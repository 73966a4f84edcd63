/** Call controls in headless Chromium: confirm, then Twilio REST (recorded by the fake); refused in plain words without credentials; handoff and callbacks shown. */
import t from 'tap'
import { existsSync } from 'node:fs'
import type { Page } from 'playwright-core'
import type { CallEvent } from '../../../src/call/events.ts'
import { FAKE_ACCOUNT_SID, startFakeTwilioRest } from '../../../fakes/twilio-rest.ts'
import { buildTestApp, listen, TEST_AUTH_TOKEN } from '../../helpers.ts'
import { callSidFor } from './call-script.ts'
import { CHROMIUM, launchChromium, logInPage } from './harness.ts'

const started = (callSid: string, mode: 'agent' | 'assist'): CallEvent => {
  const at = Date.now()
  return { type: 'call.started', callSid, at, streamSid: `MZ${callSid.slice(2)}`, mode, direction: 'inbound', from: '+14155550123', to: '+15550002222', tracks: mode === 'agent' ? ['inbound'] : ['inbound', 'outbound'], bidirectional: mode === 'agent', startedAt: at }
}

if (!existsSync(CHROMIUM)) {
  t.plan(0, `skip: ${CHROMIUM} is missing; install it with: apt-get update && apt-get install -y chromium`)
} else {
  const rest = await startFakeTwilioRest({ accountSid: FAKE_ACCOUNT_SID, authToken: TEST_AUTH_TOKEN })
  t.teardown(() => rest.close())
  const app = await buildTestApp(t, { MODE: 'agent', TWILIO_ACCOUNT_SID: FAKE_ACCOUNT_SID, TWILIO_API_BASE_URL: rest.url })
  const base = await listen(app)
  const bare = await buildTestApp(t, { MODE: 'agent' })
  const bareBase = await listen(bare)
  const browser = await launchChromium(t)
  const open = async (url: string, sid: string): Promise<Page> => {
    const { page } = await browser.open(url)
    // The harness dismisses every dialog as a problem; here the confirm step is the point.
    page.removeAllListeners('dialog')
    await logInPage(page)
    await page.click(`li[data-sid="${sid}"]`)
    return page
  }

  t.test('Take over on an agent call: asks first, then moves the call to the operator with a briefing', async (t) => {
    const sid = callSidFor(0xc01)
    app.bus.publish(started(sid, 'agent'))
    app.bus.publish({ type: 'transcript.final', callSid: sid, at: Date.now(), itemId: 'i1', speaker: 'remote', text: 'I need a person for my refund.', startMs: 0, endMs: 800 })
    const page = await open(base, sid)
    t.ok(await page.isHidden('#ctl-ai-off'), 'AI off is for copilot calls')
    let asked = ''
    page.once('dialog', (d) => { asked = d.message(); d.dismiss().catch(() => {}) })
    await page.click('#ctl-take-over')
    await page.waitForTimeout(50)
    t.match(asked, /Take over from the AI agent\?/)
    t.equal(rest.requests.length, 0, 'cancelled: nothing sent to Twilio')
    page.once('dialog', (d) => { d.accept().catch(() => {}) })
    await page.click('#ctl-take-over')
    const redirect = await rest.waitFor(new RegExp(`/Calls/${sid}\\.json$`))
    t.match(String(redirect.params.Twiml), /One moment, a colleague is joining the call now\.[^]*<Number url="[^"]*\/twilio\/whisper\?call=/)
    await page.waitForSelector('#ctl-msg:text("Putting the call through to the operator…")')
    await page.waitForSelector('#handoff-briefing:text-matches("Briefing: A caller from \\\\+14155550123 is being transferred")')
    t.match(await page.textContent('#handoff-stage'), /Handing the call to a person/)
    t.ok(await page.isHidden('#ctl-take-over'), 'no second take-over while one is under way')
    // The agent stream ends when Twilio moves the call: the call stays live on the dashboard.
    app.bus.publish({ type: 'call.stopped', callSid: sid, at: Date.now(), streamSid: `MZ${sid.slice(2)}`, reason: 'stop', durationMs: 1000, stats: { frames: { inbound: 0, outbound: 0 }, bytes: { inbound: 0, outbound: 0 }, gapMs: { inbound: 0, outbound: 0 }, gaps: { inbound: 0, outbound: 0 }, framesOut: 0, rejected: {} } })
    app.bus.publish({ type: 'callback.requested', callSid: sid, at: Date.now(), taskId: 'tk1', name: 'Ada', callbackNumber: '+14155550199', caller: '+14155550123', reason: 'Refund for order 42' })
    await page.waitForSelector('#callbacks li:text-matches("Call back Ada on .*: Refund for order 42")')
    t.not(await page.getAttribute('#c-phase', 'data-phase'), 'ended')
  })

  t.test('Hang up and AI off on a copilot call go to Twilio; without Twilio credentials the page says why', async (t) => {
    const sid = callSidFor(0xc02)
    app.bus.publish(started(sid, 'assist'))
    const page = await open(base, sid)
    t.ok(await page.isHidden('#ctl-take-over'), 'nothing to take over on a copilot call')
    page.on('dialog', (d) => { d.accept().catch(() => {}) })
    await page.click('#ctl-ai-off')
    const stop = await rest.waitFor(new RegExp(`/Calls/${sid}/Streams/MZ${sid.slice(2)}\\.json$`))
    t.equal(stop.params.Status, 'stopped')
    await page.click('#ctl-hangup')
    const hangup = await rest.waitFor(new RegExp(`/Calls/${sid}\\.json$`))
    t.equal(hangup.params.Status, 'completed')

    const other = callSidFor(0xc03)
    bare.bus.publish(started(other, 'assist'))
    const barePage = await open(bareBase, other)
    barePage.on('dialog', (d) => { d.accept().catch(() => {}) })
    await barePage.click('#ctl-hangup')
    await barePage.waitForSelector('#ctl-msg:text-matches("need Twilio credentials")')
    t.equal(await barePage.getAttribute('#ctl-msg', 'data-kind'), 'error')
  })
}
