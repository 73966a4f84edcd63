/** Live hints and post-call summaries: both engines on the call bus, on when OPENAI_API_KEY is set. */
import fp from 'fastify-plugin'
import type { FastifyPluginAsync } from 'fastify'
import { createOpenAIClient } from '../src/ai/openai.ts'
import { loadPlaybook } from '../src/ai/playbook.ts'
import { createHintEngine } from '../src/ai/hints.ts'
import { createSummaryEngine } from '../src/ai/summary.ts'

/** How long shutdown waits for summaries of the calls it just ended before abandoning them. */
const SUMMARY_GRACE_MS = 3000

const hints: FastifyPluginAsync = async (app) => {
  const { config, bus } = app
  const log = app.log.child({ part: 'hints' })
  const client = createOpenAIClient(config)
  if (client === undefined) {
    log.info({}, 'OPENAI_API_KEY is not set: live hints and post-call summaries are off')
    return
  }

  const playbook = await loadPlaybook({ inline: config.hintsPrompt, file: config.hintsPromptFile, log })
  const hintEngine = createHintEngine({ client, model: config.hintModel, playbook, bus, log, now: app.now, defaultMode: config.mode })
  const summaryEngine = createSummaryEngine({ client, model: config.summaryModel, bus, log: app.log.child({ part: 'summary' }), now: app.now })
  log.info({ hintModel: config.hintModel, summaryModel: config.summaryModel, playbook: playbook.source }, 'live hints and post-call summaries on')

  // preClose runs after media-stream's (registration order), so the calls it ends get their
  // summaries published while storage is still open (storage closes in onClose).
  const shutdown = async (): Promise<void> => {
    hintEngine.close()
    await summaryEngine.close(SUMMARY_GRACE_MS)
  }
  app.addHook('preClose', shutdown)
  app.addHook('onClose', shutdown)
}

export default fp(hints, { name: 'hints', dependencies: ['core'] })
