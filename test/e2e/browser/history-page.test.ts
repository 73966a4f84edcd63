/** The history pages in a real headless Chromium: list, search, pages, call, contact edit, WhatsApp refusal; no XSS, no CSP errors. */
import t from 'tap'
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright-core'
import type { CallEvent } from '../../../src/call/events.ts'
import { buildTestApp, listen, TEST_AUTH_TOKEN, TEST_DASHBOARD_TOKEN } from '../../helpers.ts'
import { FAKE_ACCOUNT_SID, startFakeTwilioRest } from '../../../fakes/twilio-rest.ts'

const CHROMIUM = '/usr/bin/chromium'
const ARTIFACTS = fileURLToPath(new URL('../../artifacts/', import.meta.url))
const XSS = '<img src=x onerror=alert(1)>'
const A = '+14155550101'
const B = '+14155550102'

if (!existsSync(CHROMIUM)) {
  t.plan(0, `skip: ${CHROMIUM} is missing; install it with: apt-get update && apt-get install -y chromium`)
} else {
  t.test('history: search, pages, a call, a contact with notes and WhatsApp, all text rendered as text', async (t) => {
    const fake = await startFakeTwilioRest({ accountSid: FAKE_ACCOUNT_SID, authToken: TEST_AUTH_TOKEN })
    t.teardown(() => fake.close())
    const app = await buildTestApp(t, { TWILIO_ACCOUNT_SID: FAKE_ACCOUNT_SID, TWILIO_API_BASE_URL: fake.url, TWILIO_WHATSAPP_NUMBER: '+15550003333' })
    const base = await listen(app)
    for (let i = 0; i < 30; i++) {
      const sid = `CA${String(i).padStart(32, '0')}`
      const remote = i % 2 === 1 ? A : B
      const at = 1_700_000_000_000 + i * 3_600_000
      const events: CallEvent[] = [
        { type: 'call.webhook', callSid: sid, at, mode: 'assist', direction: 'inbound', from: remote, to: '+15550002222', ai: true },
        { type: 'transcript.final', callSid: sid, at: at + 1000, itemId: 'i1', speaker: 'remote', text: i === 29 ? `I need a refund ${XSS}` : `Call number ${i}`, startMs: 1000, endMs: 2000 },
        { type: 'transcript.final', callSid: sid, at: at + 2000, itemId: 'i2', speaker: 'operator', text: 'Let me check that', startMs: 2500, endMs: 3000 },
        { type: 'call.status', callSid: sid, at: at + 3000, status: 'completed', duration: 65 },
      ]
      if (i === 29) {
        events.push({ type: 'hint.done', callSid: sid, at: at + 4000, hintId: 'h1', text: `Offer the form ${XSS}`, itemId: 'i1', superseded: false })
        events.push({ type: 'call.summary', callSid: sid, at: at + 5000, summary: `Refund request ${XSS}`, intent: 'refund', actionItems: ['Send form'] })
      }
      for (const e of events) app.bus.publish(e)
    }
    await app.recorder.idle()
    await app.store.updateContact(A, { name: `Ada ${XSS}` }, 1)

    const { chromium } = await import('playwright-core')
    const profile = mkdtempSync(join(tmpdir(), 'talkhint-chromium-'))
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 900 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    })
    t.teardown(async () => {
      await context.close()
      rmSync(profile, { recursive: true, force: true })
    })
    const page: Page = await context.newPage()
    const problems: string[] = []
    page.on('dialog', (d) => { problems.push(`dialog: ${d.message()}`); d.dismiss().catch(() => {}) })
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
    page.on('console', (m) => { if (m.type() === 'error' && !/status of (401|422)/.test(m.text())) problems.push(`console: ${m.text()}`) })

    await page.goto(`${base}/history.html`)
    if (page.url().endsWith('/login')) {
      await page.fill('#token', TEST_DASHBOARD_TOKEN)
      await page.click('#login-go')
      await page.waitForURL(`${base}/`)
      await page.goto(`${base}/history.html`)
    }
    const rows = page.locator('#calls tr')
    await rows.first().waitFor()
    t.equal(await rows.count(), 25, 'first page of 25')
    t.match(await rows.first().locator('td').first().textContent(), /2023/, 'the call time')
    t.match(await rows.first().textContent(), /Ada <img src=x onerror=alert\(1\)>/, 'the contact name, as text')
    await page.click('#older')
    await page.waitForFunction(() => document.querySelectorAll('#calls tr').length === 5)
    t.ok(await page.isVisible('#newest'), 'a way back to the newest calls')

    await page.fill('#q', 'refund')
    await page.click('#search button[type=submit]')
    await page.waitForFunction(() => document.querySelectorAll('#calls tr').length === 1)
    t.match(await rows.first().textContent(), /I need a refund <img src=x onerror=alert\(1\)>/, 'the matching line, as text')
    if (!existsSync(ARTIFACTS)) mkdirSync(ARTIFACTS, { recursive: true })
    await page.screenshot({ path: join(ARTIFACTS, 'history-list.png'), fullPage: true })

    await rows.first().locator('a').first().click()
    await page.locator('#call-transcript li').nth(1).waitFor()
    t.same(await page.locator('#call-transcript .text').allTextContents(), [`I need a refund ${XSS}`, 'Let me check that'])
    t.same(await page.locator('#call-transcript .who').allTextContents(), ['Caller', 'You'])
    t.same(await page.locator('#call-hints .hint-text').allTextContents(), [`Offer the form ${XSS}`])
    t.equal(await page.textContent('#summary-text'), `Refund request ${XSS}`)
    t.equal(await page.locator('img[src=x]').count(), 0, 'no element was injected')
    t.equal(await page.isVisible('#summarize'), false, 'no "Summarize" button on a call that has a summary')
    await page.screenshot({ path: join(ARTIFACTS, 'history-call.png'), fullPage: true })

    await page.click('#call-contact')
    await page.locator('#timeline li').first().waitFor()
    t.equal(await page.locator('#timeline li').count(), 15, 'every call with this number')
    await page.fill('#contact-name', 'Ada Lovelace')
    await page.fill('#contact-notes', 'Prefers mornings')
    await page.click('#contact-form button[type=submit]')
    await page.waitForFunction(() => document.getElementById('contact-msg')?.textContent === 'Saved.')
    t.equal(await page.textContent('#contact-h'), 'Ada Lovelace')
    t.match((await app.store.contactHistory(A, 1)).contact, { name: 'Ada Lovelace', notes: 'Prefers mornings' }, 'stored')

    fake.failNextMessage(63016, 'outside the allowed window')
    await page.fill('#wa-body', 'Following up')
    await page.click('#wa-form button[type=submit]')
    await page.waitForFunction(() => /24 hours/.test(document.getElementById('wa-msg')?.textContent ?? '') && document.getElementById('wa-msg')?.dataset.kind === 'error')
    t.match(await page.textContent('#wa-msg'), /template/, 'the refusal explained')
    await page.screenshot({ path: join(ARTIFACTS, 'history-contact.png'), fullPage: true })
    t.same(problems, [], 'no dialogs, script errors or CSP violations')
  })
}
