/** History at phone width (390×844) in headless Chromium: the call table as cards, wrapping filters, no sideways scroll. */
import t from 'tap'
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildTestApp, listen } from '../../helpers.ts'
import { CHROMIUM, launchContext } from './harness.ts'
import { openHistory, overflowX, seedCalls } from './history-fixture.ts'

const ARTIFACTS = fileURLToPath(new URL('../../artifacts/', import.meta.url))
const LONG = `https://example.com/${'a1'.repeat(120)}`

if (!existsSync(CHROMIUM)) {
  t.plan(0, `skip: ${CHROMIUM} is missing; install it with: apt-get update && apt-get install -y chromium`)
} else {
  t.test('at 390×844 the list, a call and a contact fit the width', async (t) => {
    const app = await buildTestApp(t)
    const base = await listen(app)
    await seedCalls(app, Array.from({ length: 6 }, (_, i) => ({
      sid: `CA${i}phone`,
      from: i % 2 === 1 ? '+14155550123' : '+442079460199',
      at: 1_700_000_000_000 + i * 60_000,
      lines: [['remote', `Please send the refund to ${LONG}`, 1000], ['operator', 'Sure, I will send it now', 4000]],
      hints: [[`Confirm the link ${LONG}`, 5000]],
    })))
    await app.store.updateContact('+14155550123', { name: 'Ada Lovelace-Byron of a Very Long Family Name Indeed', notes: LONG }, 1)
    if (!existsSync(ARTIFACTS)) mkdirSync(ARTIFACTS, { recursive: true })
    const context = await launchContext(t, { width: 390, height: 844 })
    const { page, problems } = await openHistory(context, base)

    await page.locator('#calls tr').nth(5).waitFor()
    t.equal(await overflowX(page), 0, 'the list: no sideways scroll')
    t.equal(await page.evaluate(() => getComputedStyle(document.querySelector('#calls tr') as Element).display), 'block', 'each call is a card')
    const rowWidths = await page.locator('#calls tr').evaluateAll((trs) => trs.map((tr) => tr.getBoundingClientRect().right))
    t.ok(rowWidths.every((right) => right <= 390), 'every card inside the screen')
    const filterTops = await page.locator('.filters > div').evaluateAll((ds) => ds.map((d) => Math.round(d.getBoundingClientRect().top)))
    t.ok(new Set(filterTops).size > 1, `the filters wrap onto more than one line (${filterTops.join(', ')})`)
    t.match(await page.locator('#calls tr').first().textContent(), /Ada Lovelace/)
    await page.fill('#q', 'refund')
    await page.keyboard.press('Enter')
    await page.waitForSelector('#search-msg:text("6 calls found")')
    t.equal(await overflowX(page), 0, 'search results: no sideways scroll')
    await page.screenshot({ path: join(ARTIFACTS, 'history-list-phone.png'), fullPage: true })

    await page.locator('#calls tr a').first().click()
    await page.locator('#call-transcript li').nth(1).waitFor()
    t.equal(await overflowX(page), 0, 'a call: no sideways scroll')
    await page.screenshot({ path: join(ARTIFACTS, 'history-call-phone.png'), fullPage: true })

    await page.click('#call-contact')
    await page.locator('#timeline li').first().waitFor()
    await page.waitForFunction(() => document.activeElement?.id === 'contact-h')
    t.equal(await overflowX(page), 0, 'a contact: no sideways scroll')
    t.ok(await page.isVisible('#callback'), 'Call back is on screen')
    await page.click('#callback')
    t.equal(await overflowX(page), 0, 'with the Call back confirmation open')
    await page.screenshot({ path: join(ARTIFACTS, 'history-contact-phone.png'), fullPage: true })
    t.same(problems, [], 'no dialogs, script errors or CSP violations')
  })
}
