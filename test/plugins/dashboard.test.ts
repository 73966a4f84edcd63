import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { bareDashboardApp, loginCookie, UiSocket } from '../e2e/browser/harness.ts'
import { buildTestApp, listen, TEST_DASHBOARD_TOKEN } from '../helpers.ts'

const STATIC = new URL('../../static/', import.meta.url)

t.test('pages need a session: the page redirects to /login, assets answer 401, the login page is public', async (t) => {
  const app = await bareDashboardApp(t)
  const page = await app.inject({ url: '/', headers: { accept: 'text/html' } })
  t.equal(page.statusCode, 302)
  t.equal(page.headers.location, '/login')
  const html = await app.inject({ url: '/index.html' })
  t.equal(html.statusCode, 302, '/index.html directly is a page too')
  const script = await app.inject({ url: '/js/app.js', headers: { accept: '*/*' } })
  t.equal(script.statusCode, 401)
  const login = await app.inject({ url: '/login' })
  t.equal(login.statusCode, 200)
  t.match(login.headers['content-type'], /text\/html/)
  t.match(login.body, /<form id="login" method="post" action="\/login">/)
  for (const url of ['/login.js', '/style.css', '/favicon.svg']) {
    t.equal((await app.inject({ url })).statusCode, 200, `${url} is public (the login page needs it)`)
  }
  const bearer = await app.inject({ url: '/js/app.js', headers: { authorization: `Bearer ${TEST_DASHBOARD_TOKEN}` } })
  t.equal(bearer.statusCode, 200)
})

t.test('with a session the dashboard is served, and /login sends you to it', async (t) => {
  const app = await bareDashboardApp(t)
  const cookie = await loginCookie(app)
  const page = await app.inject({ url: '/', headers: { cookie } })
  t.equal(page.statusCode, 200)
  t.match(page.body, /<script type="module" src="\/js\/app.js"><\/script>/)
  t.equal(page.headers['cache-control'], 'no-store')
  t.equal((await app.inject({ url: '/js/store.js', headers: { cookie } })).statusCode, 200)
  const login = await app.inject({ url: '/login', headers: { cookie } })
  t.equal(login.statusCode, 302)
  t.equal(login.headers.location, '/')
  const missing = await app.inject({ url: '/nope.html', headers: { cookie } })
  t.equal(missing.statusCode, 404)
})

t.test('every page carries a strict CSP: no inline script or style, no framing, Trusted Types', async (t) => {
  const app = await bareDashboardApp(t)
  const cookie = await loginCookie(app)
  for (const url of ['/', '/login']) {
    const res = await app.inject({ url, headers: { cookie: url === '/' ? cookie : '' } })
    const csp = String(res.headers['content-security-policy'])
    t.match(csp, /default-src 'self'/)
    t.match(csp, /script-src 'self'(;|$)/)
    t.match(csp, /style-src 'self'(;|$)/)
    t.match(csp, /frame-ancestors 'none'/)
    t.match(csp, /object-src 'none'/)
    t.match(csp, /require-trusted-types-for 'script'/)
    t.notMatch(csp, /unsafe-inline|unsafe-eval/)
    t.equal(res.headers['x-frame-options'], 'SAMEORIGIN')
    t.equal(res.headers['referrer-policy'], 'no-referrer')
  }
})

t.test('the static files never need inline script, inline style or an HTML sink', async (t) => {
  const files = readdirSync(STATIC, { recursive: true, encoding: 'utf8' })
  const mine = files.filter((f) => /\.(html|js)$/.test(f) && !/^history\./.test(f))
  t.ok(mine.length >= 10)
  for (const f of mine) {
    const text = readFileSync(new URL(f, STATIC), 'utf8')
    if (f.endsWith('.html')) {
      t.notMatch(text, /<script(?![^>]*\bsrc=)[^>]*>/, `${f}: no inline <script>`)
      t.notMatch(text, /\sstyle=|<style/, `${f}: no inline style`)
      t.notMatch(text, /\son[a-z]+=/, `${f}: no inline event handlers`)
    } else {
      t.notMatch(text, /\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write/, `${f}: no HTML sinks`)
    }
  }
})

t.test('the real app serves the dashboard and /ui behind the login', async (t) => {
  const app = await buildTestApp(t)
  const base = await listen(app)
  t.equal((await app.inject({ url: '/' })).statusCode, 302)
  const cookie = await loginCookie(app)
  t.equal((await app.inject({ url: '/', headers: { cookie } })).statusCode, 200)
  const ui = await new UiSocket(base.replace('http', 'ws') + '/ui', { cookie }).opened()
  t.teardown(() => ui.close())
  const snap = await ui.next((m) => m.type === 'snapshot')
  t.match(snap, { type: 'snapshot', v: 1, scope: '*', calls: [] })
})
