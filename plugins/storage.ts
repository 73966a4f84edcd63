/** Storage: decorates `store` and `recorder`; migrates at start-up, records call events, purges old data. */
import fp from 'fastify-plugin'
import type { FastifyPluginAsync } from 'fastify'
import { startStorage } from '../src/storage/service.ts'
import type { Store } from '../src/storage/store.ts'
import type { Recorder } from '../src/storage/recorder.ts'

declare module 'fastify' {
  interface FastifyInstance {
    store: Store
    /** Queues writes (call events are recorded automatically; WhatsApp messages are enqueued here). */
    recorder: Recorder
    /** CallSids closed as interrupted at start-up (left open by a crash); the hub never shows them live. */
    interruptedCalls: string[]
    /** Calls `listener` with each later batch of interrupted calls (found once an unreachable database is back). */
    onInterruptedCalls: (listener: (callSids: readonly string[]) => void) => void
  }
}

const storage: FastifyPluginAsync = async (app) => {
  const interrupted: string[] = []
  const listeners: Array<(callSids: readonly string[]) => void> = []
  app.decorate('interruptedCalls', interrupted)
  app.decorate('onInterruptedCalls', (listener: (callSids: readonly string[]) => void) => { listeners.push(listener) })
  const service = await startStorage({
    // Found before the hub exists (it reads the list when created) or later, after a database outage.
    onInterrupted: (sids) => {
      interrupted.push(...sids)
      for (const listener of listeners) listener(sids)
    },
    databaseUrl: app.config.databaseUrl,
    bus: app.bus,
    log: app.log.child({ part: 'storage' }),
    now: app.now,
    retentionDays: app.config.retentionDays,
  })
  app.decorate('store', service.store)
  app.decorate('recorder', service.recorder)
  // onClose runs after shutdown steps 1–4 (src/shutdown.ts): the last calls' events are queued, and flushed here.
  app.addHook('onClose', async () => service.close())
}

export default fp(storage, { name: 'storage', dependencies: ['core'] })
