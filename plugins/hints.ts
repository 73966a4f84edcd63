/** Live hints and post-call summaries: both engines on the call bus, on when OPENAI_API_KEY is set. */
import fp from 'fastify-plugin'
import type { FastifyPluginAsync } from 'fastify'
import { createOpenAIClient } from '../src/ai/openai.ts'
import { loadPlaybook } from '../src/ai/playbook.ts'
import { createHintEngine } from '../src/ai/hints.ts'
import { createSummaryEngine } from '../src/ai/summary.ts'

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

  // Shutdown step 4 (src/shutdown.ts): after the last streams ended, before storage closes.
  app.shutdown.on('summaries', async (graceMs) => {
    hintEngine.close()
    await summaryEngine.close(graceMs)
  })
}

export default fp(hints, { name: 'hints', dependencies: ['core', 'shutdown'] })
