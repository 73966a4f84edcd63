/** The realtime AI bridge: decorates `realtime`, attaches it to every call, pre-warms from webhooks. */
import fp from 'fastify-plugin'
import type { FastifyPluginAsync } from 'fastify'
import { createRealtimeBridge, type RealtimeBridge } from '../src/ai/bridge.ts'
import { loadRetirements, retirementWarnings } from '../src/ai/model-retirements.ts'
import { createOpenAIClient } from '../src/ai/openai.ts'
import { createSdkConnect } from '../src/ai/realtime-connection.ts'

declare module 'fastify' {
  interface FastifyInstance {
    realtime: RealtimeBridge
  }
}

const realtime: FastifyPluginAsync = async (app) => {
  const { config, bus, calls } = app
  const log = app.log.child({ part: 'realtime' })
  const client = createOpenAIClient(config)
  // The SDK's GA client on OPENAI_BASE_URL; a plain http:// base URL (a local fake) runs over plain TCP.
  const connect = client === undefined ? undefined : createSdkConnect(client)
  if (connect === undefined) {
    log.warn({}, 'OPENAI_API_KEY is not set: the realtime AI bridge is off. Calls still connect, without transcripts, hints or the voice agent.')
  } else {
    log.info({ baseUrl: config.openaiBaseUrl, model: config.realtimeModel, transcribeModel: config.transcribeModel }, 'realtime AI bridge on')
    // Every model setting, not only this plugin's: one line per model with an announced shutdown date.
    const retiring = loadRetirements()
    for (const line of retirementWarnings(config, new Date(app.now()), retiring)) log.warn({ part: 'models' }, `model retirement: ${line}`)
    if (retiring.problem !== undefined) log.info({ part: 'models' }, `model retirement check off: ${retiring.problem}`)
  }

  const bridge = createRealtimeBridge({ connect, config, bus, twilio: app.twilioApi, handoffs: app.handoffs, log, now: app.now })
  app.decorate('realtime', bridge)
  // MAX_CALLS where upstream sessions open, whatever path the stream came by (the webhook's admission counts
  // answered calls; this counts calls that hold AI sessions now). The call itself goes on without AI.
  const stopUsing = calls.use((call) => {
    if (calls.withHandlers < config.maxCalls) return bridge.attach(call)
    app.metrics.aiRefused('over_capacity')
    call.log.warn({ maxCalls: config.maxCalls }, 'MAX_CALLS calls already hold AI sessions: this call gets none')
    bus.publish({ type: 'ai.status', callSid: call.callSid, at: app.now(), status: 'off', detail: 'over capacity (MAX_CALLS)' })
    // An agent stream without AI would be silence: end it so Twilio runs the TwiML after <Connect> (the operator).
    if (call.bidirectional) setImmediate(() => call.end(1000, 'over capacity'))
    return undefined
  })
  const unsubscribe = bus.subscribe((event) => {
    if (event.type === 'call.webhook' && event.ai) bridge.prewarm(event)
  })

  // Shutdown step 3 (src/shutdown.ts), after the streams ended: every upstream socket still open, and no new one.
  app.shutdown.on('end-ai', () => {
    unsubscribe()
    stopUsing()
    bridge.close()
  })
}

export default fp(realtime, { name: 'realtime', dependencies: ['core', 'metrics', 'shutdown', 'handoff'] })
