/** Hint feedback API (dashboard auth): 👍/👎 on a hint, stored on its row in the shared database, counted per playbook. */
import fp from 'fastify-plugin'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import { Type } from 'typebox'
import { giveFeedback, RecentHints } from '../src/storage/hint-feedback.ts'
import { StoreError } from '../src/storage/store.ts'

const SID = /^[A-Za-z0-9_-]{2,64}$/
const HINT_ID = /^[A-Za-z0-9_-]{1,64}$/
const CallParams = Type.Object({ callSid: Type.String() })
const HintParams = Type.Object({ callSid: Type.String(), hintId: Type.String() })
const FeedbackBody = Type.Object({ value: Type.Union([Type.Literal('up'), Type.Literal('down'), Type.Null()]) }, { additionalProperties: false })

const hintFeedback: FastifyPluginAsyncTypebox = async (app) => {
  const { store } = app
  const recent = new RecentHints()
  const unsubscribe = app.eventFeed.subscribe(recent.onEvent)
  app.addHook('onClose', async () => unsubscribe())
  app.removeContentTypeParser('application/x-www-form-urlencoded')
  const bad = (reply: FastifyReply, message: string) => reply.code(400).send({ error: 'invalid_request', message })

  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    if (err instanceof StoreError && err.code === 'STORE_UNAVAILABLE') {
      req.log.warn({ err }, 'hint feedback unavailable: database down')
      return reply.code(503).send({ error: 'storage_unavailable', message: 'The database is unreachable right now, so the feedback was not saved; try again shortly.' })
    }
    throw err
  })
  app.addHook('preValidation', app.requireDashboard)

  app.post('/api/hints/:callSid/:hintId/feedback', { schema: { params: HintParams, body: FeedbackBody } }, async (req, reply) => {
    const { callSid, hintId } = req.params
    if (!SID.test(callSid)) return bad(reply, 'call id must look like CA followed by letters and digits')
    if (!HINT_ID.test(hintId)) return bad(reply, 'hint id must be letters, digits, - or _ (at most 64)')
    const { value } = req.body
    // Authenticated already (preValidation); asked again, without a reply (no renewal), for who gave it.
    const auth = await app.dashboardAuth(req)
    const by = auth.ok && auth.sessionId !== undefined ? `session:${auth.sessionId}` : 'bearer'
    const r = await giveFeedback(store, recent, { callSid, hintId, value, by, at: app.now() })
    if (r.status === 'not_found') return reply.code(404).send({ error: 'not_found', message: 'No such hint on this call (it may not have finished yet, or the call was purged).' })
    if (r.status === 'changed') {
      app.metrics.countHintFeedback(r.playbookId, value)
      req.log.info({ callSid, hintId, value, playbookId: r.playbookId }, 'hint feedback')
    }
    return { callSid, hintId, value, changed: r.status === 'changed' }
  })

  app.get('/api/hints/:callSid/feedback', { schema: { params: CallParams } }, async (req, reply) => {
    const { callSid } = req.params
    if (!SID.test(callSid)) return bad(reply, 'call id must look like CA followed by letters and digits')
    return { callSid, feedback: await store.callFeedback(callSid) }
  })

  app.get('/api/hints/feedback', async () => ({ playbooks: await store.feedbackCounts() }))
}

export default fp(hintFeedback, { name: 'hint-feedback', encapsulate: true, dependencies: ['core', 'auth', 'metrics', 'storage', 'cluster'] })
