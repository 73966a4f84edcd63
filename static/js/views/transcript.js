/** The live transcript: partial lines update in place and settle when final; follows the bottom until you scroll up. */
import { h, setText } from '../dom.js'
import { formatDuration, speakerLabel } from '../format.js'

/** Within this many pixels of the bottom counts as "at the bottom" (following live). */
const FOLLOW_SLACK_PX = 40

export class TranscriptView {
  /**
   * @param {HTMLOListElement} ol the scrolling list
   * @param {HTMLButtonElement} jump the "Jump to live" button
   * @param {HTMLElement} empty shown when nothing was said yet
   */
  constructor (ol, jump, empty) {
    this.ol = ol
    this.jump = jump
    this.empty = empty
    this.callSid = null
    this.items = new Map()
    this.follow = true
    // Screen readers hear each line once, when it is final (partials would be a stream of fragments).
    this.announcer = new LineAnnouncer(document.getElementById('transcript-announce'))
    // Our own scrolls land at the bottom, so any scroll event can simply re-decide: at the bottom = follow.
    ol.addEventListener('scroll', () => {
      this.follow = this.atBottom()
      if (this.follow) this.jump.hidden = true
    })
    // A rotated phone or resized window reflows the lines: stay pinned to the newest one.
    new window.ResizeObserver(() => { if (this.follow) this.scrollToEnd() }).observe(ol)
    jump.addEventListener('click', () => {
      this.follow = true
      this.scrollToEnd()
      jump.hidden = true
      ol.focus({ preventScroll: true })
    })
  }

  atBottom () {
    const ol = this.ol
    return ol.scrollHeight - ol.scrollTop - ol.clientHeight <= FOLLOW_SLACK_PX
  }

  scrollToEnd () {
    this.ol.scrollTop = this.ol.scrollHeight
  }

  /** Draws `call`'s lines; a different call than last time starts over, following live. */
  render (call) {
    if (call.callSid !== this.callSid) {
      this.callSid = call.callSid
      this.items.clear()
      this.ol.replaceChildren()
      this.follow = true
      this.jump.hidden = true
      this.announcer.reset(call.lines)
    }
    const before = this.ol.children.length
    const lastBefore = this.ol.lastElementChild
    const seen = new Set()
    call.lines.forEach((line, i) => {
      seen.add(line.itemId)
      let li = this.items.get(line.itemId)
      if (li === undefined) {
        li = createLine()
        this.items.set(line.itemId, li)
      }
      updateLine(li, line, call.direction)
      if (this.ol.children[i] !== li) this.ol.insertBefore(li, this.ol.children[i] ?? null)
    })
    for (const [id, li] of this.items) {
      if (!seen.has(id)) {
        li.remove()
        this.items.delete(id)
      }
    }
    this.empty.hidden = call.lines.length > 0
    this.announcer.add(call.lines, call.direction)
    const grew = this.ol.children.length !== before || this.ol.lastElementChild !== lastBefore
    if (this.follow) this.scrollToEnd()
    else if (grew || call.lines.length > 0) this.jump.hidden = this.atBottom()
  }
}

/** How many announced lines stay in the (visually hidden) live region; older ones are dropped. */
const ANNOUNCED_KEPT = 5

/** Appends each newly final line to a polite live region, once; a call's backlog (on open or resync) is not read out. */
class LineAnnouncer {
  /** @param {HTMLElement|null} region */
  constructor (region) {
    this.region = region
    this.said = new Set()
  }

  /** A different call: its lines so far count as already said. */
  reset (lines) {
    this.said = new Set(lines.filter((l) => l.final).map((l) => l.itemId))
    this.region?.replaceChildren()
  }

  add (lines, direction) {
    if (this.region === null) return
    for (const line of lines) {
      if (!line.final || this.said.has(line.itemId)) continue
      this.said.add(line.itemId)
      if (line.text.trim() === '') continue
      // One node per line (aria-relevant additions): two lines settling together are both read.
      this.region.append(h('p', { text: `${speakerLabel(line.speaker, direction)}: ${line.text}` }))
      while (this.region.childElementCount > ANNOUNCED_KEPT) this.region.firstElementChild?.remove()
    }
  }
}

function createLine () {
  return h('li', { className: 'line' }, [
    h('div', { className: 'line-head' }, [h('span', { className: 'who' }), h('time', { className: 'at' })]),
    h('p', { className: 'text' }),
  ])
}

function updateLine (li, line, direction) {
  const cls = `line ${line.speaker} ${line.final ? 'final' : 'partial'}`
  if (li.className !== cls) li.className = cls
  li.dataset.itemId = line.itemId
  setText(li.querySelector('.who'), speakerLabel(line.speaker, direction))
  setText(li.querySelector('.at'), formatDuration(line.startMs))
  // textContent, never innerHTML: whatever the caller says is shown as text.
  setText(li.querySelector('.text'), line.text)
}
