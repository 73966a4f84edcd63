/** "Call back" on a contact page in headless Chromium: a confirm step, then POST /api/calls; refusals in plain words. */
import t from 'tap'
import { existsSync } from 'node:fs'
import type { Page } from 'playwright-core'
import { buildTestApp, listen, TEST_AUTH_TOKEN } from '../../helpers.ts'
import { FAKE_ACCOUNT_SID, startFakeTwilioRest } from '../../../fakes/twilio-rest.ts'
import { CHROMIUM, launchContext } from './harness.ts'
import { focusedId, openHistory, seedCalls } from './history-fixture.ts'

const ADA = '+14155550101'

/** Counts the POST /api/calls the page sends. */
function countCallPosts (page: Page): { count: number } {
  const seen = { count: 0 }
  page.on('request', (r) => { if (r.method() === 'POST' && new URL(r.url()).pathname === '/api/calls') seen.count++ })
  return seen
}

if (!existsSync(CHROMIUM)) {
  t.plan(0, `skip: ${CHROMIUM} is missing; install it with: apt-get update && apt-get install -y chromium`)
} else {
  t.test('without Twilio credentials: confirm, then the 503 explained in plain words with the API\'s message', async (t) => {
    const app = await buildTestApp(t)
    const base = await listen(app)
    await seedCalls(app, [{ sid: 'CAada1', from: ADA, at: 1_700_000_000_000, lines: [['remote', 'Hello', 1000]] }])
    const context = await launchContext(t)
    const { page, problems } = await openHistory(context, base, `#/contact/${encodeURIComponent(ADA)}`, [503])
    const posts = countCallPosts(page)
    await page.locator('#timeline li').first().waitFor()

    // Keyboard: Call back opens the confirmation with the focus on "Call now"; Escape closes it, nothing is sent.
    await page.focus('#callback')
    await page.keyboard.press('Enter')
    await page.waitForSelector('#callback-confirm:not([hidden])')
    t.match(await page.textContent('#callback-q'), /Call \+1 415 555 0101 .*Your phone rings first/)
    t.equal(await focusedId(page), 'callback-go')
    await page.keyboard.press('Escape')
    await page.waitForSelector('#callback-confirm', { state: 'hidden' })
    t.equal(await focusedId(page), 'callback', 'the focus goes back to Call back')
    await page.click('#callback')
    await page.click('#callback-cancel')
    await page.waitForSelector('#callback-confirm', { state: 'hidden' })

    await page.click('#callback')
    await page.click('#callback-go')
    await page.waitForSelector('#callback-msg[data-kind="error"]')
    const msg = await page.textContent('#callback-msg') ?? ''
    t.match(msg, /^TalkHint cannot place calls yet: whoever runs it needs to finish the Twilio setup\. The server said: "Click-to-call needs TWILIO_ACCOUNT_SID to be set\."$/)
    t.notMatch(msg, /not_configured|HTTP 503/, 'no error codes')
    t.equal(await focusedId(page), 'callback', 'the focus is not lost with the hidden confirmation')
    t.equal(posts.count, 1, 'only the confirmed attempt reached the API')
    t.same(problems, [], 'no dialogs, script errors or CSP violations')
  })

  t.test('with Twilio: the confirmed call rings your phone first and dials the contact', async (t) => {
    const fake = await startFakeTwilioRest({ accountSid: FAKE_ACCOUNT_SID, authToken: TEST_AUTH_TOKEN })
    t.teardown(() => fake.close())
    const app = await buildTestApp(t, { TWILIO_ACCOUNT_SID: FAKE_ACCOUNT_SID, TWILIO_API_BASE_URL: fake.url })
    const base = await listen(app)
    await seedCalls(app, [{ sid: 'CAada2', from: ADA, at: 1_700_000_000_000, lines: [['remote', 'Hello', 1000]] }])
    await app.store.updateContact(ADA, { name: 'Ada' }, 1)
    const context = await launchContext(t)
    const { page, problems } = await openHistory(context, base, `#/contact/${encodeURIComponent(ADA)}`)
    await page.waitForSelector('#contact-h:text("Ada")')
    await page.click('#callback')
    t.match(await page.textContent('#callback-q'), /^Call Ada \(\+1 415 555 0101\)\?/)
    await page.click('#callback-go')
    await page.waitForSelector('#callback-msg[data-kind="ok"]')
    t.match(await page.textContent('#callback-msg'), /your phone rings first/)
    const created = fake.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/Calls.json'))
    t.equal(created.length, 1, 'one call placed')
    t.match(created[0]?.params, { To: '+15550001111', Url: /\/twilio\/outbound\?to=%2B14155550101$/ }, 'your phone first, then the contact')
    t.same(problems, [], 'no dialogs, script errors or CSP violations')
  })
}
