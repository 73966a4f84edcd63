/** Dashboard controls on a live call (hang up, take over from the agent, AI off) and the callback tasks the agent took. */
import fp from 'fastify-plugin'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import type { CallControl } from '../src/call/events.ts'
import { StoreError } from '../src/storage/store.ts'
import type { UiCall } from '../src/hub/schema.ts'

const CallParams = Type.Object({ sid: Type.String({ pattern: '^CA[0-9a-zA-Z]{1,62}$' }) })
const CallbackQuery = Type.Object({
  open: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')])),
  phone: Type.Optional(Type.String({ pattern: '^\\+[1-9][0-9]{6,14}$' })),
  limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,3}$' })),
})
const TaskParams = Type.Object({ taskId: Type.String({ minLength: 1, maxLength: 128 }) })
const TaskBody = Type.Object({ done: Type.Boolean() })

const NO_TWILIO = 'Call controls need Twilio credentials (TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN): without them TalkHint cannot change a live call.'

const callControls: FastifyPluginAsyncTypebox = async (app) => {
  const { bus, store } = app
  const fail = (reply: FastifyReply, status: number, error: string, message: string) => reply.code(status).send({ error, message })

  /** Who acted, for the log and the dashboard: the session id, never the token. */
  const who = async (req: FastifyRequest): Promise<string> => {
    const auth = await app.dashboardAuth(req)
    return auth.ok && auth.sessionId !== undefined ? `session:${auth.sessionId}` : 'bearer'
  }
  /** The call as the hub knows it (every instance's calls with REDIS_URL); undefined when unknown or over. */
  const liveCall = (sid: string): UiCall | undefined => {
    const call = app.hub.snapshot(sid).calls[0]
    return call === undefined || call.phase === 'ended' ? undefined : call
  }

  /** Why this control cannot be used on this call now (a reply), or undefined. */
  const check = (action: CallControl, call: UiCall, reply: FastifyReply): FastifyReply | undefined => {
    if (action === 'take-over') {
      if (call.mode !== 'agent') return fail(reply, 409, 'not_agent_call', 'Take over is for calls the AI agent is answering; on this call a person is already talking.')
      if (call.handoff !== null && call.handoff.stage !== 'returned' && call.handoff.stage !== 'completed') return fail(reply, 409, 'handoff_under_way', 'This call is already being handed to a person.')
      if (!app.handoffs.available) return fail(reply, 503, 'not_configured', 'Take over dials OPERATOR_PHONE, which is not set.')
    } else if (action === 'ai-off') {
      if (call.mode === 'agent') return fail(reply, 409, 'agent_call', 'The AI is the one talking on this call: use Take over to hand it to a person.')
      if (call.streamSid === null) return fail(reply, 409, 'no_stream', 'The AI is not on this call right now.')
    }
    return undefined
  }

  const control = (action: CallControl, run: (call: UiCall, sid: string) => Promise<void>) =>
    async (req: FastifyRequest<{ Params: { sid: string } }>, reply: FastifyReply) => {
      const { sid } = req.params
      if (app.twilioApi === undefined) return fail(reply, 503, 'not_configured', NO_TWILIO)
      const call = liveCall(sid)
      if (call === undefined) return fail(reply, 404, 'not_found', 'This call is not live any more (or this server never saw it).')
      const by = await who(req)
      // Checks first (a refusal changes nothing), then published before Twilio moves the call, so the stream's
      // end does not end the call anywhere (src/call/continuation.ts), then Twilio.
      const refused = check(action, call, reply)
      if (refused !== undefined) return refused
      req.log.info({ callSid: sid, action, by }, 'call control from the dashboard')
      bus.publish({ type: 'call.control', callSid: sid, at: app.now(), action, by })
      try {
        await run(call, sid)
      } catch (err) {
        req.log.error({ callSid: sid, action, err }, 'call control failed at Twilio')
        return fail(reply, 502, 'twilio_error', `Twilio refused: ${(err as Error).message}`)
      }
      return reply.code(202).send({ ok: true, action })
    }

  app.post('/api/calls/:sid/hangup', { preValidation: app.requireDashboard, schema: { params: CallParams } },
    control('hangup', async (_call, sid) => { await app.twilioApi?.hangupCall(sid) }))

  // Agent calls only: the agent stops at once and the caller is handed to the operator with a briefing.
  app.post('/api/calls/:sid/take-over', { preValidation: app.requireDashboard, schema: { params: CallParams } },
    control('take-over', async (_call, sid) => {
      await app.twilioApi?.redirectCall(sid, app.handoffs.begin(sid, 'take-over') as string)
    }))

  // The AI leaves this call: the stream to us stops (no more transcription or hints, nothing more billed by
  // OpenAI); the phone call goes on. On an agent call the caller would be left alone: Take over is the way.
  app.post('/api/calls/:sid/ai-off', { preValidation: app.requireDashboard, schema: { params: CallParams } },
    control('ai-off', async (call, sid) => {
      await app.twilioApi?.stopStream(sid, call.streamSid as string)
      bus.publish({ type: 'ai.status', callSid: sid, at: app.now(), status: 'off', detail: 'turned off for this call from the dashboard' })
    }))

  app.get('/api/callbacks', { preValidation: app.requireDashboard, schema: { querystring: CallbackQuery } }, async (req, reply) => {
    const { open, phone, limit } = req.query
    try {
      const tasks = await store.listCallbacks({ ...(open !== undefined ? { open: open === 'true' } : {}), ...(phone !== undefined ? { phone } : {}), limit: Math.min(200, Math.max(1, Number(limit ?? 50))) })
      return { callbacks: tasks }
    } catch (err) {
      if (err instanceof StoreError) return fail(reply, 503, 'storage_unavailable', 'The database is unreachable right now; try again in a moment.')
      throw err
    }
  })

  app.patch('/api/callbacks/:taskId', { preValidation: app.requireDashboard, schema: { params: TaskParams, body: TaskBody } }, async (req, reply) => {
    const { taskId } = req.params
    try {
      await store.write([{ op: 'callback.done', at: app.now(), taskId, done: req.body.done }])
      req.log.info({ taskId, done: req.body.done, by: await who(req) }, 'callback task updated')
      return reply.code(204).send()
    } catch (err) {
      if (err instanceof StoreError) return fail(reply, 503, 'storage_unavailable', 'The database is unreachable right now; try again in a moment.')
      throw err
    }
  })
}

export default fp(callControls, {
  name: 'call-controls',
  encapsulate: true,
  dependencies: ['core', 'auth', 'storage', 'hub', 'handoff'],
})
