/** The Node version guard: on an old Node, npm start/demo/call/test print one line saying what to install and exit 1. */
import t from 'tap'
import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const GUARD = join(ROOT, 'tools/check-node.cjs')
/** The system Node on this machine is v20 (older than TalkHint supports); CI images may not have one. */
const OLD_NODE = '/usr/bin/node'

function run (file: string, args: string[], env: Record<string, string | undefined> = process.env): Promise<{ code: number, stdout: string, stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd: ROOT, env, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr })
    })
  })
}

const oldVersion = existsSync(OLD_NODE) ? (await run(OLD_NODE, ['--version'])).stdout.trim() : ''
const isOld = /^v(1\d|2[01])\.|^v22\.(\d|1[0-7])\./.test(oldVersion)
const LINE = /^TalkHint needs Node\.js >= 22\.18 \(this is v\d+\.\d+\.\d+\): install Node 24 LTS from https:\/\/nodejs\.org, or run `npm install --prefix ~\/\.node24 node@24` and put ~\/\.node24\/node_modules\/\.bin first on PATH\.\n$/

t.test('on this Node (new enough) the guard is silent and exits 0', async (t) => {
  const res = await run(process.execPath, [GUARD])
  t.same(res, { code: 0, stdout: '', stderr: '' })
})

t.test('on an old Node the guard prints one line and exits 1', { skip: isOld ? false : `no Node older than 22.18 at ${OLD_NODE} (found "${oldVersion}")` }, async (t) => {
  const res = await run(OLD_NODE, [GUARD])
  t.equal(res.code, 1)
  t.equal(res.stdout, '')
  t.match(res.stderr, LINE)
  t.match(res.stderr, `(this is ${oldVersion})`)
})

t.test('npm start, demo, call and test run the guard first (with the old Node first on PATH)', { skip: isOld ? false : `no old Node at ${OLD_NODE}` }, async (t) => {
  const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts
  for (const name of ['start', 'demo', 'call', 'test']) {
    t.match(scripts[`pre${name}`], /^node tools\/check-node\.cjs( && |$)/, `pre${name} runs the guard first`)
    // npm as the system Node runs it: /usr/bin first, so `node` in the script is the old one.
    const res = await run('npm', ['run', '--silent', name], { PATH: `${OLD_NODE.replace(/\/node$/, '')}:/bin`, HOME: process.env.HOME })
    t.equal(res.code, 1, `npm run ${name} exits 1`)
    t.match(res.stderr, /^TalkHint needs Node\.js >= 22\.18 \(this is v/m, `npm run ${name} names the Node it needs`)
    t.notMatch(res.stderr + res.stdout, /ERR_UNKNOWN_FILE_EXTENSION/)
  }
})
