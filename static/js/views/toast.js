/** New-call notices that never move the view: toasts with "View", an optional beep and a desktop notification. */
import { h, setText } from '../dom.js'
import { formatPhone } from '../format.js'

const SOUND_KEY = 'talkhint.newCallSound'
const NOTIFY_KEY = 'talkhint.newCallNotify'
/** More than this many unseen calls at once: the oldest notices give way (the list still has them all). */
const MAX_TOASTS = 3

/**
 * @param {{ container: HTMLElement, sound: HTMLButtonElement, notify: HTMLButtonElement, focusCall: () => void,
 *           onView: (sid: string) => void }} opts
 */
export function createNotices (opts) {
  const { container } = opts
  /** CallSid → its toast, oldest first. */
  const shown = new Map()
  let sound = localStorage.getItem(SOUND_KEY) === '1'
  let audio = null

  const drop = (sid, focusAfter) => {
    const li = shown.get(sid)
    if (li === undefined) return
    shown.delete(sid)
    const hadFocus = li.contains(document.activeElement)
    li.remove()
    if (!hadFocus || !focusAfter) return
    // Keep the keyboard user in the notices while any are left, else hand focus to the call view.
    const next = container.querySelector('.toast-view')
    if (next !== null) next.focus()
    else opts.focusCall()
  }

  const item = (sid, text) => {
    const li = h('div', { className: 'toast', dataset: { sid } }, [
      h('span', { className: 'toast-text', text }),
      h('button', { className: 'btn btn-small btn-primary toast-view', attrs: { type: 'button' }, text: 'View', on: { click: () => { drop(sid, false); opts.onView(sid) } } }),
      h('button', { className: 'btn btn-small btn-quiet toast-close', attrs: { type: 'button', 'aria-label': 'Dismiss' }, text: '×', on: { click: () => drop(sid, true) } }),
    ])
    li.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') drop(sid, true)
    })
    return li
  }

  const beep = () => {
    if (audio === null) return
    try {
      // A short two-step tone, built on the fly: no audio file to fetch, nothing for the CSP to allow.
      const t0 = audio.currentTime
      const gain = audio.createGain()
      gain.gain.setValueAtTime(0.0001, t0)
      gain.gain.exponentialRampToValueAtTime(0.2, t0 + 0.02)
      gain.gain.exponentialRampToValueAtTime(0.0001, t0 + 0.3)
      gain.connect(audio.destination)
      const osc = audio.createOscillator()
      osc.frequency.setValueAtTime(880, t0)
      osc.frequency.setValueAtTime(1320, t0 + 0.12)
      osc.connect(gain)
      osc.start(t0)
      osc.stop(t0 + 0.3)
    } catch {}
  }

  // Browsers let audio start only after a user gesture: the toggle's click creates (or resumes) the context.
  const wakeAudio = () => {
    if (typeof window.AudioContext !== 'function') return
    audio ??= new window.AudioContext()
    if (audio.state === 'suspended') audio.resume().catch(() => {})
  }
  const showSound = () => {
    opts.sound.setAttribute('aria-pressed', String(sound))
  }
  opts.sound.addEventListener('click', () => {
    sound = !sound
    localStorage.setItem(SOUND_KEY, sound ? '1' : '0')
    if (sound) {
      wakeAudio()
      beep() // a sample, so the user knows what to listen for
    }
    showSound()
  })
  showSound()
  // Sound left on from an earlier visit: the page's first click or key press lets the context start.
  const firstGesture = () => {
    document.removeEventListener('pointerdown', firstGesture, true)
    document.removeEventListener('keydown', firstGesture, true)
    if (sound) wakeAudio()
  }
  if (sound) {
    document.addEventListener('pointerdown', firstGesture, true)
    document.addEventListener('keydown', firstGesture, true)
  }

  const Notify = window.Notification
  const canNotify = typeof Notify === 'function'
  let notify = canNotify && localStorage.getItem(NOTIFY_KEY) === '1'
  const showNotify = () => {
    opts.notify.hidden = !canNotify
    if (!canNotify) return
    const denied = Notify.permission === 'denied'
    const on = notify && Notify.permission === 'granted'
    opts.notify.setAttribute('aria-pressed', String(on))
    opts.notify.title = denied ? 'Notifications are blocked for this site in the browser settings.' : 'A desktop notification when a call starts while this tab is in the background'
  }
  // The permission prompt comes only from this click, never on load.
  opts.notify.addEventListener('click', async () => {
    if (!canNotify) return
    if (notify && Notify.permission === 'granted') {
      notify = false
    } else {
      const answer = Notify.permission === 'default' ? await Notify.requestPermission() : Notify.permission
      notify = answer === 'granted'
    }
    localStorage.setItem(NOTIFY_KEY, notify ? '1' : '0')
    showNotify()
  })
  showNotify()

  return {
    /**
     * A call just started. `shown`: it is the one on screen (no toast, but still a beep and a notification:
     * the user may be looking elsewhere). `masked` follows the "Hide numbers" setting.
     * @param {any} call
     * @param {{ shown: boolean, masked: boolean }} ctx
     */
    announce (call, ctx) {
      if (sound) beep()
      if (notify && canNotify && Notify.permission === 'granted' && document.visibilityState === 'hidden') {
        try {
          const n = new Notify('New call', { body: `From ${formatPhone(call.remote, ctx.masked)}`, tag: call.callSid })
          n.onclick = () => {
            window.focus()
            opts.onView(call.callSid)
            n.close()
          }
        } catch {}
      }
      if (ctx.shown || shown.has(call.callSid)) return
      const li = item(call.callSid, `New call from ${formatPhone(call.remote, ctx.masked)}`)
      shown.set(call.callSid, li)
      container.append(li)
      while (shown.size > MAX_TOASTS) drop(shown.keys().next().value, true)
    },
    /** Drops notices for calls that ended, vanished or are now on screen; refreshes the numbers' masking. */
    render (calls, selected, masked) {
      for (const [sid, li] of [...shown]) {
        const call = calls.get(sid)
        if (call === undefined || call.phase === 'ended' || sid === selected) {
          drop(sid, true)
          continue
        }
        setText(li.querySelector('.toast-text'), `New call from ${formatPhone(call.remote, masked)}`)
      }
    },
  }
}
