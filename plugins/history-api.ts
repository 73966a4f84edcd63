/** Call history and contacts REST API (dashboard auth): list/search calls, one call, a contact's timeline. */
import fp from 'fastify-plugin'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply } from 'fastify'
import { Type } from 'typebox'
import { buildTimeline, parseCallQuery, parseContactPatch } from '../src/storage/history.ts'
import { encodeCursor, normalizePhone } from '../src/storage/search.ts'
import { StoreError } from '../src/storage/store.ts'
import { summarizeStoredCall, type SummarizeFailure } from '../src/storage/summarize.ts'
import { createOpenAIClient } from '../src/ai/openai.ts'

const TIMELINE_LIMIT = 200
const SID = /^[A-Za-z0-9_-]{2,64}$/

/** The HTTP status of each kind of refusal summarizeStoredCall returns. */
const SUMMARY_STATUS = { not_configured: 503, not_found: 404, unprocessable: 422, upstream_failed: 502 } as const satisfies Record<SummarizeFailure['kind'], number>

// As received: src/storage/history.ts parses them, with messages that say what a good value looks like (and
// takes the first value of a repeated key, which arrives as an array).
const opt = () => Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())]))
const CallListQuery = Type.Object({ phone: opt(), since: opt(), until: opt(), q: opt(), limit: opt(), cursor: opt() })
const CallParams = Type.Object({ sid: Type.String() })
const ContactParams = Type.Object({ phone: Type.String() })

const historyApi: FastifyPluginAsyncTypebox = async (app) => {
  const { store } = app
  // JSON only, as these routes have always been: core's form parser (for Twilio's webhooks) stops at this scope.
  app.removeContentTypeParser('application/x-www-form-urlencoded')
  const bad = (reply: FastifyReply, message: string) => reply.code(400).send({ error: 'invalid_request', message })
  const notFound = (reply: FastifyReply, message: string) => reply.code(404).send({ error: 'not_found', message })

  // The database being down is a 503 with a reason, not a 500.
  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    if (err instanceof StoreError && err.code === 'STORE_UNAVAILABLE') {
      req.log.warn({ err }, 'history unavailable: database down')
      return reply.code(503).send({ error: 'storage_unavailable', message: 'The call history database is unreachable right now; try again shortly.' })
    }
    throw err
  })

  app.addHook('preValidation', app.requireDashboard)

  app.get('/api/calls', { schema: { querystring: CallListQuery } }, async (req, reply) => {
    const parsed = parseCallQuery(req.query)
    if (!parsed.ok) return bad(reply, parsed.message)
    const page = await store.listCalls(parsed.value)
    return { calls: page.calls, nextCursor: page.next === null ? null : encodeCursor(page.next) }
  })

  app.get('/api/calls/:sid', { schema: { params: CallParams } }, async (req, reply) => {
    const { sid } = req.params
    if (!SID.test(sid)) return bad(reply, 'call id must look like CA followed by letters and digits')
    const detail = await store.getCall(sid)
    return detail ?? notFound(reply, 'No call with this id is stored (it may have been purged by RETENTION_DAYS).')
  })

  // A summary for a stored call that has none (or a fresh one), from its stored transcript.
  const openai = createOpenAIClient(app.config)
  app.post('/api/calls/:sid/summary', { schema: { params: CallParams } }, async (req, reply) => {
    const { sid } = req.params
    if (!SID.test(sid)) return bad(reply, 'call id must look like CA followed by letters and digits')
    const r = await summarizeStoredCall({ store, client: openai, model: app.config.summaryModel, now: app.now }, sid)
    return r.ok ? { summary: r.summary } : reply.code(SUMMARY_STATUS[r.kind]).send({ error: r.code, message: r.message })
  })

  app.get('/api/contacts/:phone', { schema: { params: ContactParams } }, async (req, reply) => {
    const phone = normalizePhone(req.params.phone)
    if (phone === undefined) return bad(reply, 'phone must be an international number like +14155550100')
    const history = await store.contactHistory(phone, TIMELINE_LIMIT)
    if (history.contact === undefined && history.calls.length === 0 && history.messages.length === 0) {
      return notFound(reply, 'Nothing is stored for this number yet.')
    }
    const contact = history.contact ?? { phone, name: null, notes: null, createdAt: null, updatedAt: null }
    return { contact, timeline: buildTimeline(history, TIMELINE_LIMIT) }
  })

  app.patch('/api/contacts/:phone', { schema: { params: ContactParams } }, async (req, reply) => {
    const phone = normalizePhone(req.params.phone)
    if (phone === undefined) return bad(reply, 'phone must be an international number like +14155550100')
    // The body is parsed, not cast: parseContactPatch names the field that is wrong and why.
    const patch = parseContactPatch(req.body)
    if (!patch.ok) return bad(reply, patch.message)
    return { contact: await store.updateContact(phone, patch.value, app.now()) }
  })

  app.get('/api/storage/status', async () => ({ engine: store.engine, recorder: app.recorder.status() }))
}

// Encapsulated (its routes and error handler stay its own); fp only declares what it needs from the service plugins.
export default fp(historyApi, { name: 'history-api', encapsulate: true, dependencies: ['core', 'auth', 'storage'] })
