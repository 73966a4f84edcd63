/** Browser test of the hints panel on a long call: the current hint pinned and whole, repeats merged, each hint and final line announced once. */
import t from 'tap'
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright-core'
import type { CallEvent } from '../../../src/call/events.ts'
import { buildTestApp, listen } from '../../helpers.ts'
import { callSidFor, HINTS, LOCAL, REMOTE, scriptedCall } from './call-script.ts'
import { CHROMIUM, launchContext, pickCall as pick, logInPage } from './harness.ts'

const ARTIFACTS = fileURLToPath(new URL('../../artifacts/', import.meta.url))
const VIEWPORTS = [{ name: 'desktop', width: 1280, height: 800 }, { name: 'phone', width: 390, height: 844 }]
const TURNS = 10
/** Long enough to wrap to several lines in the card at either width. */
const REPEATED = 'They mentioned a competitor twice: ask what the other offer includes, then match the speed rather than the price, and offer to waive the installation fee if they sign today.'
const LAST = 'Summarise what you agreed (plan, price, start date) and ask whether anything else is bothering them before you close.'

/** The 10 scripted hints, as call-script.ts words them. */
const scriptedHints = Array.from({ length: TURNS }, (_, i) => `${HINTS[i % HINTS.length] as string}${i >= HINTS.length ? ` (${i + 1})` : ''}`)

interface Box { top: number, bottom: number, left: number, right: number }
interface Geometry { card: Box, cardClient: number, cardScroll: number, textScroll: number, textClient: number, history: Box, items: Box[], hit: boolean }

/** Where the pinned card and the visible part of every older hint are, and whether the card's text is whole. */
function geometry (page: Page): Promise<Geometry> {
  return page.evaluate(() => {
    const box = (r: DOMRect): Box => ({ top: r.top, bottom: r.bottom, left: r.left, right: r.right })
    const card = document.getElementById('hint-now') as HTMLElement
    const text = card.querySelector('.hint-para') as HTMLElement
    const history = document.getElementById('hint-history') as HTMLElement
    const h = history.getBoundingClientRect()
    // Each older hint clipped to its scroller: what is actually painted.
    const items = [...document.querySelectorAll('#hint-list .hint')].map((li) => {
      const r = li.getBoundingClientRect()
      return { top: Math.max(r.top, h.top), bottom: Math.min(r.bottom, h.bottom), left: Math.max(r.left, h.left), right: Math.min(r.right, h.right) }
    }).filter((r) => r.bottom > r.top && r.right > r.left)
    const c = card.getBoundingClientRect()
    // Nothing is painted over the card's text: the topmost element at its centre is inside the card.
    const t = text.getBoundingClientRect()
    const at = document.elementFromPoint((t.left + t.right) / 2, (t.top + t.bottom) / 2)
    return { card: box(c), cardClient: card.clientHeight, cardScroll: card.scrollHeight, textScroll: text.scrollHeight, textClient: text.clientHeight, history: box(h), items, hit: at !== null && card.contains(at) }
  })
}

const overlaps = (a: Box, b: Box): boolean => a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5 && a.left < b.right - 0.5 && b.left < a.right - 0.5

if (!existsSync(CHROMIUM)) {
  t.plan(0, `skip: ${CHROMIUM} is missing; install it with: apt-get update && apt-get install -y chromium`)
} else {
  mkdirSync(ARTIFACTS, { recursive: true })
  const context = await launchContext(t)
  const app = await buildTestApp(t)
  const base = await listen(app)

  for (const [n, vp] of VIEWPORTS.entries()) {
    t.test(`${vp.name} ${vp.width}×${vp.height}: a long call keeps the current hint whole, on top and said once`, async (t) => {
      await context.clearCookies()
      const page = await context.newPage()
      t.teardown(() => page.close())
      await page.setViewportSize({ width: vp.width, height: vp.height })
      const problems: string[] = []
      page.on('pageerror', (err) => problems.push(`page error: ${err.message}`))
      page.on('console', (m) => { if (m.type() === 'error' && !/status of 401/.test(m.text())) problems.push(`console: ${m.text()}`) })
      await page.goto(base + '/')
      await logInPage(page)

      // Record everything the two live regions are given, node by node, from the start.
      await page.evaluate(() => {
        const w = window as unknown as { said: Record<string, string[]> }
        w.said = { hints: [], lines: [] }
        const watch = (id: string, into: string[]): void => {
          new MutationObserver((records) => {
            for (const r of records) {
              if (r.type === 'characterData') into.push(`(edited) ${r.target.textContent ?? ''}`)
              for (const node of r.addedNodes) into.push(node.textContent ?? '')
            }
          }).observe(document.getElementById(id) as HTMLElement, { childList: true, subtree: true, characterData: true })
        }
        watch('hint-announce', w.said.hints)
        watch('transcript-announce', w.said.lines)
      })

      const sid = callSidFor(0x4100 + n)
      const t0 = Date.now() - 120_000
      const publish = (e: CallEvent): void => app.bus.publish(e)
      // The call starts and is opened; what follows is news to the page (a backlog is not read out).
      const script = scriptedCall({ callSid: sid, turns: TURNS, open: true, t0 })
      const started = script.findIndex((e) => e.type === 'call.started') + 1
      for (const e of script.slice(0, started)) publish(e)
      await pick(page, sid)
      await page.waitForSelector('#c-remote:text("+1 415 555 0123")')
      for (const e of script.slice(started)) publish(e)
      await page.waitForSelector(`#hint-now:not(.streaming) .hint-text:text("${scriptedHints[TURNS - 1] as string}")`)
      t.equal(await page.locator('#hint-list .hint').count(), TURNS - 1, 'every earlier hint is listed')

      // One more hint streams in: the card is busy (quiet) with a caret hidden from assistive tech.
      const stream = async (hintId: string, text: string, at: number): Promise<void> => {
        const words = text.match(/\S+\s*/g) as string[]
        publish({ type: 'hint.delta', callSid: sid, at, hintId, delta: words.slice(0, 5).join('') })
        await page.waitForSelector(`#hint-now.streaming[data-hint-id="${hintId}"]`)
        t.equal(await page.getAttribute('#hint-now', 'aria-busy'), 'true', 'busy while streaming')
        t.equal(await page.getAttribute('#hint-now .hint-caret', 'aria-hidden'), 'true', 'the caret is hidden from assistive tech')
        // (display, not visibility: the caret blinks by toggling visibility)
        const caretShown = (): Promise<boolean> => page.$eval('#hint-now .hint-caret', (el) => getComputedStyle(el).display !== 'none')
        t.ok(await caretShown(), 'and shown while streaming')
        t.notMatch(await page.locator('#hint-now').ariaSnapshot(), /▍/, 'the accessibility tree has no caret')
        publish({ type: 'hint.delta', callSid: sid, at, hintId, delta: words.slice(5).join('') })
        publish({ type: 'hint.done', callSid: sid, at, hintId, text, itemId: `item_r${TURNS - 1}`, superseded: false })
        await page.waitForSelector(`#hint-now:not(.streaming)[data-hint-id="${hintId}"]`)
        t.equal(await page.getAttribute('#hint-now', 'aria-busy'), null, 'not busy once done')
        t.notOk(await caretShown(), 'no caret once done')
      }
      // The same advice three times in a row is one entry, ×3.
      const late = t0 + 1000 + 600_000
      await stream('hint_rep_a', REPEATED, late)
      await stream('hint_rep_b', REPEATED, late + 5000)
      await stream('hint_rep_c', REPEATED, late + 9000)
      await page.waitForSelector('#hint-now .hint-times:text("×3")')
      t.equal(await page.textContent('#hint-now .hint-text'), REPEATED)
      t.equal(await page.locator('#hint-list .hint').count(), TURNS, 'the repeats did not add entries')
      t.equal(await page.locator('#hint-list .hint-text:text("They mentioned a competitor")').count(), 0)
      // A newer hint takes the top; the merged entry moves into the history as one entry, still ×3.
      await stream('hint_last', LAST, late + 20_000)
      t.equal(await page.locator('#hint-list .hint').count(), TURNS + 1)
      const merged = page.locator('#hint-list .hint').first()
      t.equal(await merged.locator('.hint-text').textContent(), REPEATED, 'newest first in the history')
      t.equal(await merged.locator('.hint-times').textContent(), '×3')
      t.same(await page.locator('#hint-list .hint-text').allTextContents(), [REPEATED, ...[...scriptedHints].reverse()], 'every hint once, newest first')
      publish({ type: 'call.summary', callSid: sid, at: late + 21_000, summary: 'Wants a cheaper plan; considering a competitor.', intent: 'retention', actionItems: ['Send the Plus 1G offer', 'Waive installation'] })
      await page.waitForSelector('#summary:not([hidden]) #summary-text:text("cheaper plan")')

      // The card: whole (not clipped), painted on top, overlapping no older hint — before and after scrolling the history.
      await page.$eval('#hint-now', (el) => el.scrollIntoView({ block: 'center' })) // on a phone the page scrolls to it
      const check = async (when: string): Promise<Geometry> => {
        const g = await geometry(page)
        t.ok(g.cardClient >= g.cardScroll, `${when}: the card is as tall as its content (${g.cardClient} ≥ ${g.cardScroll})`)
        t.ok(g.textClient >= g.textScroll, `${when}: the hint text is not clipped (${g.textClient} ≥ ${g.textScroll})`)
        t.ok(g.card.bottom - g.card.top >= g.textScroll, `${when}: the card's box holds the text`)
        t.ok(g.hit, `${when}: nothing is painted over the card's text`)
        t.ok(g.card.top >= 0 && g.card.bottom <= vp.height + 0.5, `${when}: the card is in view (${g.card.top}..${g.card.bottom})`)
        t.notOk(overlaps(g.card, g.history), `${when}: the history scrolls beneath the card, not under it`)
        t.same(g.items.filter((b) => overlaps(b, g.card)), [], `${when}: no older hint overlaps the card`)
        return g
      }
      const before = await check('at the top')
      t.ok(await page.$eval('#hint-history', (el) => el.scrollHeight > el.clientHeight + 20), 'the history overflows (scrolls on its own)')
      await page.$eval('#hint-history', (el) => { el.scrollTop = el.scrollHeight })
      await page.waitForFunction(() => { const el = document.getElementById('hint-history') as HTMLElement; return el.scrollHeight - el.scrollTop - el.clientHeight < 2 })
      await page.waitForSelector('#summary-items li:text("Waive installation")')
      const after = await check('history scrolled to the bottom')
      t.same(after.card, before.card, 'scrolling the history did not move the card')

      // Each hint was announced exactly once, complete; the repeats and the streaming fragments never.
      const said = await page.evaluate(() => (window as unknown as { said: Record<string, string[]> }).said)
      t.same(said.hints, [...scriptedHints, REPEATED, LAST].map((x) => `Hint: ${x}`), 'each hint once, whole, in order')
      // Final transcript lines were announced once each; partial text never.
      const spokenLines = Array.from({ length: TURNS }, (_, i) => [`Caller: ${REMOTE[i % REMOTE.length] as string}`, `You: ${LOCAL[i % LOCAL.length] as string}`]).flat()
      t.same(said.lines, spokenLines, 'each final line once, with who said it, in order (no partial)')
      t.equal(await page.locator('#hint-announce p').count() <= 3, true, 'the live region keeps only the last few')

      await page.screenshot({ path: join(ARTIFACTS, `hints-panel-${vp.name}.png`) })
      publish({ type: 'call.stopped', callSid: sid, at: Date.now(), streamSid: `MZ${sid.slice(2)}`, reason: 'stop', durationMs: 1000, stats: {} as never })

      // Opening another call does not read out its backlog (its lines and hints were drawn in the same frame).
      const other = callSidFor(0x4200 + n)
      for (const e of scriptedCall({ callSid: other, from: '+14155550177', turns: 2, t0: Date.now() - 60_000 })) publish(e)
      await page.click(`#recent-calls li[data-sid="${other}"] button`)
      await page.waitForSelector('#transcript .line.final[data-item-id="item_l1"]')
      await page.waitForSelector(`#hint-now .hint-text:text("${HINTS[1] as string}")`)
      const after2 = await page.evaluate(() => (window as unknown as { said: Record<string, string[]> }).said)
      t.equal(after2.hints.length, said.hints.length, 'no hint of the opened call was announced')
      t.equal(after2.lines.length, said.lines.length, 'no line of the opened call was announced')

      // A call with no hints says so, and says it again correctly once it ended; no empty history box to tab into.
      const quiet = callSidFor(0x4300 + n)
      for (const e of scriptedCall({ callSid: quiet, from: '+14155550188', turns: 0, open: true })) publish(e)
      await pick(page, quiet)
      await page.waitForSelector('#hint-now .empty:text("Hints appear here while the other person talks.")')
      t.ok(await page.locator('#hint-history').isHidden(), 'no history box without history')
      // A partial line: its animated dots are shown but not read out, and the line is not announced.
      publish({ type: 'transcript.partial', callSid: quiet, at: Date.now(), itemId: 'p1', speaker: 'remote', text: 'Still talking about the', startMs: 1000, endMs: 2000 })
      const partial = page.locator('#transcript .line.partial[data-item-id="p1"]')
      await partial.waitFor()
      t.match(await partial.locator('.text').evaluate((el) => getComputedStyle(el, '::after').content), /···/, 'the dots are drawn')
      const tree = await partial.ariaSnapshot()
      t.match(tree, /Still talking about the/)
      t.notMatch(tree, /···/, 'the accessibility tree has no dots')
      t.equal((await page.evaluate(() => (window as unknown as { said: Record<string, string[]> }).said)).lines.length, said.lines.length, 'a partial line is not announced')
      publish({ type: 'call.stopped', callSid: quiet, at: Date.now(), streamSid: `MZ${quiet.slice(2)}`, reason: 'stop', durationMs: 1000, stats: {} as never })
      await page.waitForSelector('#hint-now .empty:text("No hints for this call.")')
      t.same(problems, [], 'no script error or CSP violation')
    })
  }
}
