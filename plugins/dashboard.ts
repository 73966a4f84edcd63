/** The dashboard pages: static/ behind the login, a strict CSP, and a public login page. */
import { fileURLToPath } from 'node:url'
import fp from 'fastify-plugin'
import helmet from '@fastify/helmet'
import fastifyStatic from '@fastify/static'
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'

const ROOT = fileURLToPath(new URL('../static/', import.meta.url))
/** What the login page needs; everything else in static/ requires a session. */
const PUBLIC = new Set(['/login', '/login.html', '/login.js', '/style.css', '/favicon.svg'])

/** Browser navigations get redirected to /login; scripts and fetches get a 401 they can act on. */
function wantsPage (req: FastifyRequest): boolean {
  const path = req.url.split('?')[0] as string
  return path === '/' || path.endsWith('.html') || (req.headers.accept ?? '').includes('text/html')
}

const dashboard: FastifyPluginAsync = async (app) => {
  await app.register(helmet, {
    // Transcripts are attacker-controlled text: no inline script or style, no HTML sinks (Trusted Types).
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        scriptSrcAttr: ["'none'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'"],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        requireTrustedTypesFor: ["'script'"],
        trustedTypes: ["'none'"],
      },
    },
    referrerPolicy: { policy: 'no-referrer' },
  })

  app.addHook('onRequest', async (req, reply) => {
    const path = req.url.split('?')[0] as string
    if (PUBLIC.has(path)) return
    const auth = await app.dashboardAuth(req, reply)
    if (auth.ok) return
    if (auth.status === 401 && wantsPage(req)) return reply.redirect('/login', 302)
    if (auth.retryAfterS !== undefined) reply.header('retry-after', auth.retryAfterS)
    return reply.code(auth.status).send({ error: auth.error, message: auth.message })
  })

  // Exact routes for the files present at start-up (no catch-all that would swallow other 404s).
  await app.register(fastifyStatic, { root: ROOT, wildcard: false, index: false, cacheControl: true, maxAge: 0 })

  app.get('/', async (_req, reply) => reply.header('cache-control', 'no-store').sendFile('index.html', { cacheControl: false }))
  app.get('/login', async (req, reply) => {
    if ((await app.dashboardAuth(req)).ok) return reply.redirect('/', 302)
    return reply.header('cache-control', 'no-store').sendFile('login.html', { cacheControl: false })
  })
}

// Encapsulated: helmet's headers and the login redirect apply to the pages, not to the API or the webhooks.
export default fp(dashboard, { name: 'dashboard', encapsulate: true, dependencies: ['auth'] })
