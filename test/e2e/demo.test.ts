import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { fileURLToPath } from 'node:url'

const DEMO = fileURLToPath(new URL('../../tools/demo.ts', import.meta.url))
const CALL = fileURLToPath(new URL('../../tools/call.ts', import.meta.url))

/** The environment a newcomer has: no TalkHint or OpenAI settings at all. */
function cleanEnv (): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(PUBLIC_BASE_URL|TWILIO_|OPENAI_|DASHBOARD_|DATABASE_URL|REDIS_URL|MODE|OPERATOR_PHONE|LOG_LEVEL|HOST)/.test(k)) env[k] = v
  }
  return { ...env, PORT: '0' }
}

interface Run { child: ChildProcess, out: () => string, exited: Promise<number | null>, waitFor: (re: RegExp, ms?: number) => Promise<RegExpExecArray> }

function run (args: string[], cwd: string, env: NodeJS.ProcessEnv): Run {
  const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  const waiters = new Set<() => void>()
  const onData = (d: Buffer): void => {
    out += d.toString()
    for (const w of [...waiters]) w()
  }
  child.stdout?.on('data', onData)
  child.stderr?.on('data', onData)
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const waitFor = (re: RegExp, ms = 60_000): Promise<RegExpExecArray> => new Promise((resolve, reject) => {
    const check = (): void => {
      const m = re.exec(out)
      if (m !== null) { waiters.delete(check); clearTimeout(timer); resolve(m) }
    }
    const timer = setTimeout(() => { waiters.delete(check); reject(new Error(`timed out waiting for ${re} in:\n${out}`)) }, ms)
    waiters.add(check)
    check()
  })
  return { child, out: () => out, exited, waitFor }
}

t.test('npm run demo --exit: one simulated call with transcripts, a hint and a summary, stored in SQLite', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'talkhint-demo-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const demo = run([DEMO, '--exit', '--speed', '8'], dir, cleanEnv())
  t.teardown(() => { demo.child.kill('SIGKILL') })
  const code = await demo.exited
  const out = demo.out()
  t.equal(code, 0, `demo exits 0 after the call:\n${out}`)
  t.match(out, /AI = local stand-in/, 'says the AI is the local stand-in, not OpenAI')
  t.match(out, /caller {3}"Hi, I'm calling about the pricing of your premium plan/, 'caller transcript line')
  t.match(out, /operator "Thanks for calling! Yes, annual billing saves twenty percent\."/, 'operator transcript line')
  t.match(out, /hint {5}💡 Confirm/, 'a hint for the operator')
  t.match(out, /summary {2}The caller asked about premium plan pricing/, 'the post-call summary')
  t.match(out, /problems {3}none/, 'the simulated call had no problems')
  t.match(out, /log in with the dashboard token: \S{12,}/, 'prints how to log in')
  const callSid = /this one is (CA[0-9a-f]{32})/.exec(out)?.[1]
  t.ok(callSid, 'prints the call sid')

  const db = new DatabaseSync(join(dir, 'data', 'demo.db'), { readOnly: true })
  t.teardown(() => db.close())
  const call = db.prepare('SELECT direction, mode FROM calls WHERE call_sid = ?').get(callSid ?? '') as { direction: string, mode: string } | undefined
  t.same(call, { direction: 'inbound', mode: 'assist' }, 'the call is in the history database')
  const utterances = db.prepare('SELECT speaker, text FROM utterances WHERE call_sid = ? ORDER BY start_ms').all(callSid ?? '') as Array<{ speaker: string, text: string }>
  t.same(utterances.map((u) => u.speaker).sort(), ['operator', 'remote'], 'both parties\' utterances stored')
  const summary = db.prepare('SELECT summary FROM summaries WHERE call_sid = ?').get(callSid ?? '') as { summary: string } | undefined
  t.match(summary?.summary, /premium plan pricing/, 'summary stored')
})

t.test('npm run demo --agent --exit: greeting, the caller\'s pricing question, a warm transfer with a whisper, the person on the copilot, one summary', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'talkhint-demo-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const demo = run([DEMO, '--agent', '--exit', '--speed', '8'], dir, cleanEnv())
  t.teardown(() => { demo.child.kill('SIGKILL') })
  const code = await demo.exited
  const out = demo.out()
  t.equal(code, 0, `demo exits 0 after the call:\n${out}`)
  t.match(out, /TalkHint demo: agent mode/)
  t.match(out, /twiml {4}<Connect><Stream>/, 'the call is answered with <Connect><Stream>')
  const steps = [
    'agent    "Hello! Thanks for calling.',
    'caller   "Hi, I\'m calling about the pricing',
    'caller hears: "Connecting you to a person now."',
    'operator hears (whisper, before the bridge): "A caller is asking about the price of the premium plan',
    'operator "Thanks for calling! Yes, annual billing saves twenty percent."',
    'summary  The caller asked about premium plan pricing and annual billing; the operator confirmed a 20% annual discount.',
  ]
  const at = steps.map((s) => out.indexOf(s))
  t.ok(at.every((i, k) => i >= 0 && (k === 0 || i > at[k - 1])), `in this order: ${steps.join(' → ')}:\n${out}`)
  const operatorLine = out.indexOf('operator "Thanks for calling!')
  t.match(out.slice(at[3]), /hint {5}💡 Confirm the 20% annual discount/, 'a hint once the person is on the call')
  t.ok(operatorLine > at[3], 'the person speaks after hearing the briefing')
  t.equal(out.split('agent    "Hello!').length - 1, 1, 'the greeting is said once')
  t.notMatch(out.slice(0, at[1]), /◀ clear/, 'the greeting is not barged in on: the caller waits for it')
  t.notMatch(out, /I heard you/, 'the agent hands the pricing question over instead of answering it')
  t.equal(out.split(/^summary {2}/m).length - 1, 1, 'one summary for the whole call')
  t.match(out, /dial {5}ended: completed/)
  t.match(out, /problems {3}none/)
})
t.test('npm run demo keeps serving: npm run call prints transcripts and hints from the dashboard socket; Ctrl-C stops it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'talkhint-demo-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const demo = run([DEMO, '--speed', '8'], dir, cleanEnv())
  t.teardown(() => { demo.child.kill('SIGKILL') })
  const [, again] = await demo.waitFor(/another call: (.+)\n/)
  await demo.waitFor(/Serving until Ctrl-C/)
  // "DASHBOARD_TOKEN=… npm run call -- --server … --public-base-url … --auth-token …"
  const token = /DASHBOARD_TOKEN=(\S+)/.exec(again)?.[1] ?? ''
  const server = /--server (\S+)/.exec(again)?.[1] ?? ''
  const flags = again.split(' -- ')[1].split(' ')

  const call = run([CALL, ...flags, '--speed', '8'], dir, { ...cleanEnv(), DASHBOARD_TOKEN: token })
  const code = await call.exited
  const out = call.out()
  t.equal(code, 0, `npm run call exits 0:\n${out}`)
  t.match(out, /caller {3}"Hi, I'm calling about the pricing/, 'caller transcript printed')
  t.match(out, /operator "Thanks for calling!/, 'operator transcript printed')
  t.match(out, /hint {5}💡 /, 'hint printed')
  t.match(out, /summary {2}\S/, 'summary printed')

  const res = await fetch(`${server}/api/calls`, { headers: { authorization: `Bearer ${token}` } })
  t.equal(res.status, 200)
  const body = await res.json() as { calls: unknown[] }
  t.equal(body.calls.length, 2, 'the demo call and the second call are both in the history')

  // "Call a number" on the dashboard: the demo's fake Twilio takes Calls.create and the simulator plays that leg.
  const placed = await fetch(`${server}/api/calls`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ to: '+14155550177' }) })
  t.ok(placed.status >= 200 && placed.status < 300, `click-to-call accepted (${placed.status})`)
  const [, clickSid] = await demo.waitFor(/Click-to-call (CA[0-9a-f]{32}): ringing the operator \+15555550123, then dialling \+14155550177/)
  await demo.waitFor(new RegExp(`── summary: OK ── call ${clickSid}`))
  const detail = await (await fetch(`${server}/api/calls/${clickSid}`, { headers: { authorization: `Bearer ${token}` } })).json() as { call?: { direction?: string } }
  t.equal(detail.call?.direction, 'outbound', 'the click-to-call is in the history as an outbound call')

  const wrong = run([CALL, ...flags, '--speed', '8'], dir, { ...cleanEnv(), DASHBOARD_TOKEN: 'not-the-right-token' })
  await wrong.exited
  t.match(wrong.out(), /dashboard socket was refused: HTTP 401/, 'a wrong dashboard token is reported, the call still runs')

  demo.child.kill('SIGINT')
  t.equal(await demo.exited, 0, 'Ctrl-C stops the demo cleanly')
})
