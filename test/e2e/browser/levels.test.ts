/** Level meters and the talk ratio in headless Chromium: both meters move on real media frames, ratio empty until speech, ARIA meters. */
import t from 'tap'
import { existsSync } from 'node:fs'
import type { Page } from 'playwright-core'
import { buildTestApp, listen } from '../../helpers.ts'
import { mediaFrame, openMedia, opened, startFrame, stopFrame } from '../../media-helpers.ts'
import { callSidFor } from './call-script.ts'
import { CHROMIUM, launchContext, logInPage } from './harness.ts'

const LOUD = Buffer.alloc(160, 0x10).toString('base64')
const QUIET = Buffer.alloc(160, 0xff).toString('base64')

const meter = async (page: Page, id: string): Promise<Record<string, string | null>> => await page.$eval(`#${id}`, (el) => ({
  role: el.getAttribute('role'),
  label: el.getAttribute('aria-label'),
  min: el.getAttribute('aria-valuemin'),
  max: el.getAttribute('aria-valuemax'),
  now: el.getAttribute('aria-valuenow'),
}))

if (!existsSync(CHROMIUM)) {
  t.plan(0, `skip: ${CHROMIUM} is missing; install it with: apt-get update && apt-get install -y chromium`)
} else {
  const context = await launchContext(t)
  const app = await buildTestApp(t)
  const base = await listen(app)

  const open = async (): Promise<{ page: Page, problems: string[] }> => {
    await context.clearCookies()
    const page = await context.newPage()
    const problems: string[] = []
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
    page.on('console', (m) => { if (m.type() === 'error' && !/status of 401/.test(m.text())) problems.push(`console: ${m.text()}`) })
    await page.goto(base + '/')
    await logInPage(page)
    return { page, problems }
  }

  t.test('assist: the "You" meter moves on the operator track; the ratio is empty until someone speaks', async (t) => {
    const { page, problems } = await open()
    const sid = callSidFor(0x1e1)
    const ws = openMedia(base)
    await opened(ws)
    ws.send(startFrame(sid, 'MZlevels1'))
    await page.waitForSelector('#c-remote:text("+1 415 555 0100")')

    // Before anyone spoke: no bar, the empty state only; the meters are labelled meters at 0.
    t.ok(await page.locator('#t-bar').isHidden(), 'no talk-ratio bar before speech')
    t.equal(await page.textContent('#t-label'), 'No speech yet')
    t.same(await meter(page, 'm-remote-meter'), { role: 'meter', label: 'Caller level', min: '0', max: '100', now: '0' })
    t.same(await meter(page, 'm-local-meter'), { role: 'meter', label: 'Your level', min: '0', max: '100', now: '0' })
    t.equal(await page.getAttribute('#m-local', 'aria-hidden'), 'true', 'the fill is decoration')

    // Real media frames through the real session: the operator (outbound track on an inbound call) speaks, and the
    // caller's frame comes first in every 200 ms slot (the order that kept the "You" meter at 0).
    for (let n = 1; n <= 100; n++) {
      ws.send(mediaFrame('MZlevels1', 'inbound', n, QUIET))
      ws.send(mediaFrame('MZlevels1', 'outbound', n, LOUD))
    }
    await page.waitForFunction(() => Number(document.getElementById('m-local-meter')?.getAttribute('aria-valuenow')) > 50)
    t.equal(await page.getAttribute('#m-remote-meter', 'aria-valuenow'), '0', 'the quiet caller reads 0')
    t.ok(Number(await page.$eval('#m-local', (el) => getComputedStyle(el).getPropertyValue('--level'))) > 0.5, 'the bar is drawn from the same value')

    app.bus.publish({ type: 'transcript.final', callSid: sid, at: Date.now(), itemId: 'op1', speaker: 'operator', text: 'Hello, how can I help?', startMs: 0, endMs: 1500 })
    app.bus.publish({ type: 'transcript.final', callSid: sid, at: Date.now(), itemId: 'c1', speaker: 'remote', text: 'My bill went up.', startMs: 1600, endMs: 2100 })
    await page.waitForSelector('#t-bar:not([hidden])')
    t.equal(await page.textContent('#t-label'), 'Caller 25% · You 75%')
    t.same(await meter(page, 't-bar'), { role: 'meter', label: null, min: '0', max: '100', now: '25' })
    t.equal(await page.getAttribute('#t-bar', 'aria-valuetext'), 'Caller 25% · You 75%')
    t.equal(await page.$eval('#t-bar', (el) => document.getElementById(el.getAttribute('aria-labelledby') ?? '')?.textContent), 'Talk ratio')
    ws.send(stopFrame(sid, 'MZlevels1'))
    ws.close()
    t.same(problems, [])
  })

  t.test('agent: the agent\'s talk time comes from the audio sent for it', async (t) => {
    const { page, problems } = await open()
    const sid = callSidFor(0x1e2)
    const started = Date.now()
    app.bus.publish({ type: 'call.started', callSid: sid, at: started, streamSid: 'MZlevels2', mode: 'agent', direction: 'inbound', from: '+14155550123', to: '+15550002222', tracks: ['inbound'], bidirectional: true, startedAt: started })
    await page.waitForSelector('#c-kind:text("Inbound · Agent")')
    t.equal(await page.getAttribute('#m-local-meter', 'aria-label'), 'Agent level')
    t.ok(await page.locator('#t-bar').isHidden())
    // The caller speaks 1 s; the agent's 3 s answer is sent (sentMs); its transcript's own times would say 50 ms.
    app.bus.publish({ type: 'transcript.final', callSid: sid, at: Date.now(), itemId: 'r1', speaker: 'remote', text: 'Hi, is my order shipped?', startMs: 0, endMs: 1000 })
    app.bus.publish({ type: 'call.levels', callSid: sid, at: Date.now(), inbound: 0, outbound: 0, sentMs: 3000 })
    app.bus.publish({ type: 'transcript.final', callSid: sid, at: Date.now(), itemId: 'a1', speaker: 'agent', text: 'Yes, it left the warehouse this morning.', startMs: 1100, endMs: 1150 })
    await page.waitForSelector('#t-label:text("Caller 25% · Agent 75%")')
    t.equal(await page.getAttribute('#t-bar', 'aria-valuenow'), '25')
    app.bus.publish({ type: 'call.stopped', callSid: sid, at: Date.now(), streamSid: 'MZlevels2', reason: 'stop', durationMs: 5000, stats: {} as never })
    t.same(problems, [])
  })
}
