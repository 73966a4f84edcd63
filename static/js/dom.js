/** Tiny DOM helpers. Text goes in through textContent only: transcripts are attacker-controlled. */

/**
 * Creates an element. `props` may hold className, text (set as textContent), attrs (setAttribute),
 * dataset and on (event listeners); children are nodes or strings (appended as text nodes).
 * @param {string} tag
 * @param {{className?: string, text?: string, attrs?: Record<string,string>, dataset?: Record<string,string>, on?: Record<string, EventListener>}} [props]
 * @param {(Node|string|null|undefined)[]} [children]
 * @returns {HTMLElement}
 */
export function h (tag, props = {}, children = []) {
  const el = document.createElement(tag)
  if (props.className) el.className = props.className
  if (props.text !== undefined) el.textContent = props.text
  for (const [k, v] of Object.entries(props.attrs ?? {})) el.setAttribute(k, v)
  for (const [k, v] of Object.entries(props.dataset ?? {})) el.dataset[k] = v
  for (const [k, v] of Object.entries(props.on ?? {})) el.addEventListener(k, v)
  for (const c of children) {
    if (c === null || c === undefined) continue
    el.append(typeof c === 'string' ? document.createTextNode(c) : c)
  }
  return el
}

/** Sets textContent only when it changed (keeps selection and avoids layout work at 5 Hz). */
export function setText (el, text) {
  if (el.textContent !== text) el.textContent = text
}

/** document.getElementById that fails loudly when the page and the script disagree. */
export function byId (id) {
  const el = document.getElementById(id)
  if (el === null) throw new Error(`missing #${id}`)
  return el
}
