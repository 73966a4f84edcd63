/** History in headless Chromium: partial-number search, marks and the jump to a matching line, offsets, focus, plain errors. */
import t from 'tap'
import { existsSync } from 'node:fs'
import { buildTestApp, listen } from '../../helpers.ts'
import { CHROMIUM, launchContext } from './harness.ts'
import { focusedId, openHistory, seedCalls } from './history-fixture.ts'

const XSS = '<img src=x onerror=alert(1)>'
const T0 = 1_700_000_000_000

if (!existsSync(CHROMIUM)) {
  t.plan(0, `skip: ${CHROMIUM} is missing; install it with: apt-get update && apt-get install -y chromium`)
} else {
  t.test('search by part of a number, highlighted matches, jump to the line, offsets, focus that stays put', async (t) => {
    const app = await buildTestApp(t)
    const base = await listen(app)
    const filler = Array.from({ length: 40 }, (_, i) => ['operator', `Line ${i} about the weather`, 10_000 + i * 1000] as const)
    await seedCalls(app, [
      { sid: 'CAaaaa', from: '+14155550123', at: T0, streamAfterMs: 2000, lines: [['remote', `I want a REFUND ${XSS}`, 5000], ...filler, ['remote', 'Refunds take long', 65_000]], hints: [[`Offer the form ${XSS}`, 66_000]] },
      { sid: 'CAbbbb', from: '+442079460199', at: T0 + 3_600_000, lines: [['remote', 'Where is my parcel', 1000]] },
      { sid: 'CAcccc', from: '+14155550188', at: T0 + 7_200_000, lines: [['remote', 'A refund please', 1000]] },
    ])
    const context = await launchContext(t, { width: 1280, height: 800 })
    const { page, problems } = await openHistory(context, base, '', [400, 404])
    const rows = page.locator('#calls tr')
    await rows.nth(2).waitFor()

    // Cards have a visible gap between them.
    const gap = await page.evaluate(() => {
      const cards = [...document.querySelectorAll('#list-view > .card')].map((c) => c.getBoundingClientRect())
      return (cards[1]?.top ?? 0) - (cards[0]?.bottom ?? 0)
    })
    t.ok(gap >= 12, `a gap between the search card and the list (${gap}px)`)

    // Part of a number, typed and submitted from the keyboard: the focus stays in the field.
    await page.focus('#phone')
    await page.keyboard.type('0123')
    await page.keyboard.press('Enter')
    await page.waitForFunction(() => document.querySelectorAll('#calls tr').length === 1)
    t.match(await rows.first().textContent(), /\+1 415 555 0123/)
    t.equal(await focusedId(page), 'phone', 'the phone field keeps the focus after a search')
    await page.fill('#phone', '415 555')
    await page.keyboard.press('Enter')
    await page.waitForFunction(() => document.querySelectorAll('#calls tr').length === 2)
    t.match(await page.textContent('#search-msg'), /2 calls found/)

    await page.fill('#phone', 'ab')
    await page.keyboard.press('Enter')
    await page.waitForSelector('#search-msg[data-kind="error"]')
    const refusal = await page.textContent('#search-msg') ?? ''
    t.match(refusal, /digits/, 'says what to type')
    t.notMatch(refusal, /invalid_request|E\.164|HTTP/, 'in plain words')
    t.equal(await page.getAttribute('#phone', 'aria-invalid'), 'true')
    t.equal(await focusedId(page), 'phone')

    await page.fill('#phone', '')
    await page.fill('#since', '2024-02-01')
    await page.fill('#until', '2024-01-01')
    await page.click('#search button[type=submit]')
    await page.waitForSelector('#search-msg[data-kind="error"]:text("on or after")')
    await page.fill('#since', '')
    await page.fill('#until', '')

    // A transcript search: the words are marked in the list (as text), the focus stays in the search box.
    await page.focus('#q')
    await page.keyboard.type('refund')
    await page.keyboard.press('Enter')
    await page.waitForFunction(() => document.querySelectorAll('#calls tr').length === 2)
    t.equal(await focusedId(page), 'q', 'the search box keeps the focus')
    t.same(await page.locator('#calls mark').allTextContents(), ['refund', 'REFUND'])
    t.match(await rows.nth(1).textContent(), `I want a REFUND ${XSS}`, 'the line as text')

    // Opening a result is navigation: the focus goes to the call's heading, with no ring around the page.
    await rows.nth(1).locator('a').first().click()
    await page.locator('#call-transcript li').nth(41).waitFor()
    await page.waitForFunction(() => document.activeElement?.id === 'call-h')
    t.equal(await page.evaluate(() => getComputedStyle(document.activeElement as Element).outlineStyle), 'none', 'no focus ring on the heading')
    t.equal(await page.evaluate(() => getComputedStyle(document.getElementById('main') as Element).outlineStyle), 'none')
    t.same(await page.locator('#call-transcript mark').allTextContents(), ['REFUND', 'Refunds'])
    t.match(await page.textContent('#match-count'), /2 lines match "refund"/)

    // Times are offsets from the start of the call, with the clock time on hover.
    const firstAt = page.locator('#call-transcript li .at').first()
    t.equal(await firstAt.textContent(), '0:05')
    const clockAt = (ms: number) => page.evaluate((ms) => new Date(ms).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' }), ms)
    t.equal(await firstAt.getAttribute('title'), `Said at ${await clockAt(T0 + 2000 + 5000)}`)
    t.equal(await page.textContent('#call-hints .at'), '1:06', 'hints too')
    t.equal(await page.getAttribute('#call-hints .at', 'title'), `Given at ${await clockAt(T0 + 2000 + 66_000)}`)
    t.same(await page.locator('#call-hints .hint-text').allTextContents(), [`Offer the form ${XSS}`])

    // The jump button is reached from the keyboard; it scrolls to each matching line in turn and focuses it.
    let reached = false
    for (let i = 0; i < 12 && !reached; i++) {
      await page.keyboard.press('Tab')
      reached = await focusedId(page) === 'jump-match'
    }
    t.ok(reached, 'Tab reaches "Jump to the matching line"')
    await page.keyboard.press('Enter')
    const focusedLine = () => page.evaluate(() => {
      const el = document.activeElement as HTMLElement
      const r = el.getBoundingClientRect()
      return { text: el.querySelector('.text')?.textContent, inView: r.top >= 0 && r.bottom <= window.innerHeight, outline: getComputedStyle(el).outlineStyle }
    })
    t.same(await focusedLine(), { text: `I want a REFUND ${XSS}`, inView: true, outline: 'solid' })
    await page.focus('#jump-match')
    t.equal(await page.textContent('#jump-match'), 'Next match (2 of 2)')
    await page.keyboard.press('Enter')
    t.same(await focusedLine(), { text: 'Refunds take long', inView: true, outline: 'solid' }, 'the last line, scrolled into view')
    t.equal(await page.locator('img[src=x]').count(), 0, 'nothing injected')

    // Back to the list: the search is still there, and the focus is on the list's heading.
    await page.click('#back-list')
    await page.waitForFunction(() => document.activeElement?.id === 'list-h')
    t.equal(await page.inputValue('#q'), 'refund')

    // Plain-language failures: a call that is gone, and no answer from the server.
    await page.goto(page.url().replace(/#.*$/, '#/call/CAgone'))
    await page.waitForSelector('#banner:not([hidden])')
    const gone = await page.textContent('#banner-text') ?? ''
    t.match(gone, /not in the history/)
    t.notMatch(gone, /RETENTION_DAYS|not_found|HTTP/)
    await page.route('**/api/calls?**', (route) => route.abort())
    await page.goto(page.url().replace(/#.*$/, '#/?q=parcel'))
    await page.waitForSelector('#search-msg[data-kind="error"]')
    t.match(await page.textContent('#search-msg'), /TalkHint did not answer\. Check your connection/)
    t.same(problems.filter((p) => !/net::ERR_FAILED/.test(p)), [], 'no dialogs, script errors or CSP violations')
  })
}
