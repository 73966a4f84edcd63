import t from 'tap'
import { createShutdown, SETTLE_MAX_MS, SHUTDOWN_STEPS, SUMMARY_GRACE_MS, type ShutdownDeps } from '../../src/shutdown.ts'
import type { Logger } from '../../src/log.ts'

interface Line { level: string, obj: Record<string, unknown>, msg: string | undefined }

/** A Logger that keeps every line. */
function recordingLog (lines: Line[]): Logger {
  const at = (level: string) => (obj: object, msg?: string): void => { lines.push({ level, obj: obj as Record<string, unknown>, msg }) }
  const log: Logger = { fatal: at('fatal'), error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug'), trace: at('trace'), child: () => log }
  return log
}

/** Deps that write what happens to `journal`; `ended` says how step 2's wait comes out. */
function fakeDeps (journal: string[], lines: Line[], o: { ended: boolean, live?: number, settled?: boolean }): ShutdownDeps & { waits: { calls: number[], settle: number[] } } {
  let live = o.live ?? 1
  const waits = { calls: [] as number[], settle: [] as number[] }
  return {
    waits,
    log: recordingLog(lines),
    startDrain: () => { journal.push('startDrain') },
    liveCalls: () => live,
    whenCallsEnded: async (ms) => {
      waits.calls.push(ms)
      journal.push('whenCallsEnded')
      if (o.ended) live = 0
      return o.ended
    },
    whenSettled: async (ms) => {
      waits.settle.push(ms)
      journal.push('whenSettled')
      return o.settled ?? true
    },
    unsettled: () => (o.settled ?? true) ? 0 : 1,
    close: async () => { journal.push('close') },
  }
}

t.test('a drain runs the steps in the stated order, each part in its step, and closes last', async (t) => {
  const journal: string[] = []
  const lines: Line[] = []
  const deps = fakeDeps(journal, lines, { ended: true })
  const s = createShutdown(deps)
  // Added out of order on purpose: the step decides when a part runs, not when it was added.
  s.on('summaries', (grace) => { journal.push(`summaries(${grace})`) })
  s.on('end-ai', () => { journal.push('end-ai') })
  s.on('end-streams', () => { journal.push('end-streams:a') })
  s.on('end-streams', async () => { journal.push('end-streams:b') })
  const report = await s.drain(60_000)
  t.same(journal, ['startDrain', 'whenCallsEnded', 'end-streams:a', 'end-streams:b', 'end-ai', 'whenSettled', `summaries(${SUMMARY_GRACE_MS})`, 'close'])
  t.same(report.steps.map((x) => x.step), SHUTDOWN_STEPS, 'every step reported once, in order')
  t.same({ drained: report.drained, settled: report.settled }, { drained: true, settled: true })
  t.same(deps.waits.calls, [60_000], 'step 2 waits for the whole budget')
  t.equal(deps.waits.settle[0], SETTLE_MAX_MS, 'step 4 waits what is left of the budget, capped')
  t.same(lines.filter((l) => l.level === 'info').map((l) => l.obj.step), SHUTDOWN_STEPS, 'one log line per step')
  t.ok(lines.some((l) => l.msg === 'all calls ended; shutting down'))
  t.ok(lines.some((l) => l.msg === 'last calls settled (final status and summary in)'))
})

t.test('the settle wait never outlasts the budget', async (t) => {
  const deps = fakeDeps([], [], { ended: true })
  await createShutdown(deps).drain(50)
  t.equal(deps.waits.settle.length, 1)
  t.ok(deps.waits.settle[0]! <= 50 && deps.waits.settle[0]! >= 0, `waited at most the budget (${deps.waits.settle[0]} ms)`)
})

t.test('calls that outlive the budget are ended, and the last calls\' status is not waited for', async (t) => {
  const journal: string[] = []
  const lines: Line[] = []
  const s = createShutdown(fakeDeps(journal, lines, { ended: false, live: 2 }))
  s.on('end-streams', () => { journal.push('end-streams') })
  s.on('summaries', () => { journal.push('summaries') })
  const report = await s.drain(1000)
  t.same(journal, ['startDrain', 'whenCallsEnded', 'end-streams', 'summaries', 'close'])
  t.same({ drained: report.drained, settled: report.settled }, { drained: false, settled: undefined })
  t.match(lines.find((l) => l.obj.step === 'wait-streams'), { msg: 'drain timeout reached; closing remaining calls', obj: { liveCalls: 2 } })
  t.match(lines.find((l) => l.obj.step === 'end-streams'), { obj: { ended: 2 } })
})

t.test('a part that fails is logged once and the rest of the order still runs', async (t) => {
  const journal: string[] = []
  const lines: Line[] = []
  const s = createShutdown(fakeDeps(journal, lines, { ended: false }))
  s.on('end-streams', () => { throw new Error('boom') })
  s.on('end-streams', () => { journal.push('end-streams:after') })
  s.on('end-ai', async () => { throw new Error('async boom') })
  s.on('summaries', () => { journal.push('summaries') })
  await s.drain(0)
  t.same(journal, ['startDrain', 'end-streams:after', 'summaries', 'close'], 'storage still gets its close')
  const errors = lines.filter((l) => l.level === 'error')
  t.same(errors.map((l) => l.obj.step), ['end-streams', 'end-ai'])
})

t.test('each step runs once however shutdown is entered', async (t) => {
  const journal: string[] = []
  const deps = fakeDeps(journal, [], { ended: true })
  let closes = 0
  const s = createShutdown({ ...deps, close: async () => { closes++; await s.release(0) } })
  s.on('end-streams', () => { journal.push('end-streams') })
  const first = s.drain(5000)
  t.equal(s.drain(1), first, 'a second drain gets the first one\'s promise')
  await first
  t.equal(closes, 1)
  t.equal(journal.filter((x) => x === 'end-streams').length, 1, 'the close\'s own release did not run the steps again')

  // A close without a drain (a fatal error, a test) runs steps 1–4 with no wait at all.
  const j2: string[] = []
  const d2 = fakeDeps(j2, [], { ended: false })
  const s2 = createShutdown(d2)
  s2.on('end-streams', () => { j2.push('end-streams') })
  const outcome = await s2.release(0)
  t.same(j2, ['startDrain', 'end-streams'], 'no wait for streams, no wait for status callbacks')
  t.same(outcome, { drained: false, settled: undefined })
  t.equal(await s2.release(60_000), outcome, 'a later release gets the first outcome')
})
