/** Shutdown in one place: decorates `shutdown` (where plugins add their part) and `drain(ms)`; the order is src/shutdown.ts. */
import fp from 'fastify-plugin'
import type { FastifyPluginAsync } from 'fastify'
import { createShutdown, type DrainReport, type Shutdown } from '../src/shutdown.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** Plugins add their part of the shutdown order here (`app.shutdown.on('end-streams', …)`). */
    shutdown: Shutdown
    /** Drains live calls within `budgetMs` (DRAIN_TIMEOUT_S), then closes the app, in the order of src/shutdown.ts. */
    drain: (budgetMs: number) => Promise<DrainReport>
  }
}

const shutdown: FastifyPluginAsync = async (app) => {
  const { lifecycle, calls } = app
  const sequence = createShutdown({
    log: app.log.child({ part: 'shutdown' }),
    startDrain: () => lifecycle.startDrain(),
    liveCalls: () => calls.size,
    whenCallsEnded: (ms) => calls.whenEmpty(ms),
    whenSettled: (ms) => lifecycle.whenSettled(ms),
    unsettled: () => lifecycle.unsettled,
    close: () => app.close(),
  })
  app.decorate('shutdown', sequence)
  app.decorate('drain', (budgetMs: number) => sequence.drain(budgetMs))
  // Registered right after core, so this is the first preClose hook: a close without a drain (a fatal error, a
  // test) still runs steps 1–4, with no wait, before the sockets close and the plugins' onClose hooks run.
  app.addHook('preClose', async () => { await sequence.release(0) })
}

export default fp(shutdown, { name: 'shutdown', dependencies: ['core'] })
