/** Browser test of the hint actions: Copy (button and Alt+C), 👍/👎 stored with the hint (API and history), pins that survive new hints. */
import t from 'tap'
import { existsSync } from 'node:fs'
import type { Page } from 'playwright-core'
import type { CallEvent } from '../../../src/call/events.ts'
import { buildTestApp, listen, TEST_DASHBOARD_TOKEN } from '../../helpers.ts'
import { callSidFor, HINTS, scriptedCall } from './call-script.ts'
import { CHROMIUM, launchContext, logInPage, pickCall as pick } from './harness.ts'

const auth = { authorization: `Bearer ${TEST_DASHBOARD_TOKEN}` }
const NEW_HINT = 'Ask whether they want the switch done today, while they are on the line.'

if (!existsSync(CHROMIUM)) {
  t.plan(0, `skip: ${CHROMIUM} is missing; install it with: apt-get update && apt-get install -y chromium`)
} else {
  const context = await launchContext(t)
  const app = await buildTestApp(t)
  const base = await listen(app)
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base })
  const publish = (e: CallEvent): void => app.bus.publish(e)
  const clipboard = (page: Page): Promise<string> => page.evaluate(() => navigator.clipboard.readText())
  const status = (page: Page, text: string) => page.waitForSelector(`.hint-status:text("${text}")`)
  const storedHints = async (sid: string) => {
    await app.recorder.idle()
    return ((await app.inject({ url: `/api/calls/${sid}`, headers: auth })).json() as { hints: Array<{ hintId: string, feedback: string | null }> }).hints
  }

  const opened = async (t: { teardown (fn: () => unknown): void }, sid: string, width = 1280, height = 800): Promise<{ page: Page, problems: string[] }> => {
    await context.clearCookies()
    const page = await context.newPage()
    t.teardown(() => page.close())
    await page.setViewportSize({ width, height })
    const problems: string[] = []
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
    page.on('console', (m) => { if (m.type() === 'error' && !/status of 401/.test(m.text())) problems.push(`console: ${m.text()}`) })
    await page.goto(base + '/')
    await logInPage(page)
    await pick(page, sid)
    await page.waitForSelector(`#hint-now:not(.streaming) .hint-text:text("${HINTS[2] as string}")`)
    return { page, problems }
  }

  t.test('copy: the buttons and Alt+C put the hint on the clipboard and say "Copied."; Alt+C in a text field is left alone', async (t) => {
    const sid = callSidFor(0x4301)
    for (const e of scriptedCall({ callSid: sid, turns: 3, open: true })) publish(e)
    const { page, problems } = await opened(t, sid)
    const copy = page.locator('#hint-now [data-action="copy"]')
    t.equal(await copy.getAttribute('aria-keyshortcuts'), 'Alt+C', 'the shortcut is exposed to assistive tech')
    t.match(await copy.getAttribute('title'), /Alt\+C/, 'and shown in the tooltip')
    await copy.click()
    await status(page, 'Copied.')
    t.equal(await clipboard(page), HINTS[2])
    t.equal(await page.getAttribute('.hint-status', 'role'), 'status', 'a polite confirmation')

    await page.click('#hint-list li[data-hint-id="hint_0"] [data-action="copy"]')
    await page.waitForFunction((want) => navigator.clipboard.readText().then((x) => x === want), HINTS[0])
    t.pass('an older hint copies too')

    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur())
    await page.keyboard.press('Alt+KeyC')
    await page.waitForFunction((want) => navigator.clipboard.readText().then((x) => x === want), HINTS[2])
    t.pass('Alt+C copies the current hint')
    // Typing in a field: the shortcut does not fire (the keydown is not taken), outside one it does.
    const taken = await page.evaluate(() => {
      const press = (el: Element): boolean => {
        const e = new KeyboardEvent('keydown', { altKey: true, code: 'KeyC', key: 'c', bubbles: true, cancelable: true })
        el.dispatchEvent(e)
        return e.defaultPrevented
      }
      return { input: press(document.getElementById('dial-to') as HTMLElement), body: press(document.body) }
    })
    t.same(taken, { input: false, body: true })
    t.same(problems, [])
  })

  t.test('feedback: 👍/👎 stored with the hint, a second press clears it, shown after a reload and in history', async (t) => {
    const sid = callSidFor(0x4302)
    for (const e of scriptedCall({ callSid: sid, turns: 3, open: true })) publish(e)
    const { page, problems } = await opened(t, sid)
    const up = page.locator('#hint-now [data-action="up"]')
    t.equal(await up.getAttribute('aria-label'), 'Helpful')
    t.equal(await up.getAttribute('aria-pressed'), 'false')
    await up.click()
    await status(page, 'Saved: helpful.')
    t.equal(await up.getAttribute('aria-pressed'), 'true')
    const older = page.locator('#hint-list li[data-hint-id="hint_0"]')
    await older.locator('[data-action="down"]').click()
    await status(page, 'Saved: not helpful.')
    await older.locator('[data-action="up"]').click()
    await status(page, 'Saved: helpful.')
    await older.locator('[data-action="up"]').click()
    await status(page, 'Feedback cleared.')
    t.equal(await older.locator('[data-action="up"]').getAttribute('aria-pressed'), 'false')
    t.equal(await older.locator('[data-action="down"]').getAttribute('aria-pressed'), 'false')
    await page.locator('#hint-list li[data-hint-id="hint_1"] [data-action="down"]').click()
    await status(page, 'Saved: not helpful.')

    const stored = new Map((await storedHints(sid)).map((x) => [x.hintId, x.feedback]))
    t.same([stored.get('hint_0'), stored.get('hint_1'), stored.get('hint_2')], [null, 'down', 'up'], 'in the database, on each hint')
    t.same((await app.inject({ url: '/api/hints/feedback', headers: auth })).json(), { playbooks: [{ playbookId: null, up: 1, down: 1 }] })

    await page.reload()
    await pick(page, sid)
    await page.waitForSelector('#hint-now [data-action="up"][aria-pressed="true"]')
    t.equal(await page.getAttribute('#hint-list li[data-hint-id="hint_1"] [data-action="down"]', 'aria-pressed'), 'true', 'read back after a reload')

    await page.goto(`${base}/history.html#/call/${sid}`)
    await page.waitForSelector('#call-hints .hint')
    t.same(await page.locator('#call-hints .hint-feedback').allTextContents(), ['👎 Marked not helpful', '👍 Marked helpful'], 'history shows what was given')
    t.same(problems, [])
  })

  t.test('pin: an older hint stays under the current one as new hints come, after a reload, until unpinned (keyboard)', async (t) => {
    const sid = callSidFor(0x4303)
    const script = scriptedCall({ callSid: sid, turns: 3, open: true })
    for (const e of script) publish(e)
    const { page, problems } = await opened(t, sid, 390, 844)
    t.ok(await page.locator('.hint-pinned').isHidden(), 'no pinned area while nothing is pinned')
    await page.locator('#hint-list li[data-hint-id="hint_0"] [data-action="pin"]').click()
    await status(page, 'Pinned: it stays under the current hint until you unpin it.')
    t.same(await page.locator('.hint-pinned .hint-text').allTextContents(), [HINTS[0]])
    t.equal(await page.locator('#hint-list li[data-hint-id="hint_0"]').count(), 0, 'moved out of the history')
    t.equal(await page.evaluate(() => document.activeElement?.textContent), 'Unpin', 'focus follows it, to Unpin')

    const at = (script[script.length - 1] as CallEvent).at + 1000
    for (const [i, text] of [NEW_HINT, `${NEW_HINT} Again.`].entries()) {
      publish({ type: 'hint.delta', callSid: sid, at: at + i, hintId: `hint_new${i}`, delta: text })
      publish({ type: 'hint.done', callSid: sid, at: at + i, hintId: `hint_new${i}`, text, itemId: 'item_x', superseded: false })
    }
    await page.waitForSelector(`#hint-now .hint-text:text("${NEW_HINT} Again.")`)
    t.same(await page.locator('.hint-pinned .hint-text').allTextContents(), [HINTS[0]], 'still pinned after new hints')
    t.ok(await page.locator('.hint-pinned').isVisible())
    t.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'no horizontal overflow at 390 px')

    await page.reload()
    await pick(page, sid)
    await page.waitForSelector('.hint-pinned:not([hidden]) .hint-text')
    t.same(await page.locator('.hint-pinned .hint-text').allTextContents(), [HINTS[0]], 'kept in this browser')

    const unpin = page.locator('.hint-pinned [data-action="pin"]')
    await unpin.focus()
    await page.keyboard.press('Enter')
    await status(page, 'Unpinned.')
    t.ok(await page.locator('.hint-pinned').isHidden())
    t.equal(await page.locator('#hint-list li[data-hint-id="hint_0"]').count(), 1, 'back in the history')
    t.equal(await page.evaluate(() => document.activeElement?.closest('li')?.dataset.hintId), 'hint_0', 'focus stays on it')
    t.same(problems, [])
  })
}
