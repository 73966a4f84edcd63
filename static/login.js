/** Login: posts the token as JSON (never in a URL) and goes to the dashboard once the cookie is set. */
const form = document.getElementById('login')
const input = document.getElementById('token')
const button = document.getElementById('login-go')
const msg = document.getElementById('login-msg')

function say (text) {
  msg.textContent = text
  msg.dataset.kind = text === '' ? '' : 'error'
  input.setAttribute('aria-invalid', text === '' ? 'false' : 'true')
}

// The no-JavaScript path lands on /login#invalid_token; with JavaScript, say it in the live region instead.
const fromHash = { '#invalid_token': 'That token is not right.', '#too_many_attempts': 'Too many wrong tokens. Wait a few minutes and try again.' }
if (fromHash[window.location.hash] !== undefined) {
  say(fromHash[window.location.hash])
  window.history.replaceState(null, '', '/login')
}
document.body.classList.add('js')

form.addEventListener('submit', async (e) => {
  e.preventDefault()
  const token = input.value.trim()
  if (token === '') {
    say('Enter the dashboard token.')
    input.focus()
    return
  }
  button.disabled = true
  say('')
  try {
    const res = await fetch('/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ token }),
    })
    if (res.ok) {
      window.location.replace('/')
      return
    }
    const body = await res.json().catch(() => ({}))
    say(body.message ?? `Sign-in failed (HTTP ${res.status}).`)
    input.select()
  } catch {
    say('Could not reach the server. Check your connection and try again.')
  } finally {
    button.disabled = false
  }
})
