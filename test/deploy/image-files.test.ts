/** The Docker image's file list (Dockerfile COPY lines minus .dockerignore) runs what the image claims: the server, the demo, the doctor. */
import t from 'tap'
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { builtinModules } from 'node:module'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, posix } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/** Docker's pattern syntax (moby/patternmatcher): `*` and `?` stay within one path segment, `**` spans any. */
function patternRegex (pattern: string): RegExp {
  let re = ''
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string
    if (c === '*' && pattern[i + 1] === '*') {
      i++
      if (pattern[i + 1] === '/') { i++; re += '(?:.*/)?' } else re += '.*'
    } else if (c === '*') re += '[^/]*'
    else if (c === '?') re += '[^/]'
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&')
  }
  return new RegExp(`^${re}$`)
}

/** .dockerignore as Docker reads it: a path is excluded when the last pattern matching it, or a directory above it, is not a `!` exception. */
function dockerIgnore (text: string): (path: string) => boolean {
  const rules = text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#')).map((l) => {
    const negate = l.startsWith('!')
    const pattern = posix.normalize((negate ? l.slice(1) : l).trim()).replace(/^\/+/, '').replace(/\/+$/, '')
    return { negate, re: patternRegex(pattern) }
  })
  return (path) => {
    const parts = path.split('/')
    const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'))
    let excluded = false
    for (const r of rules) if (prefixes.some((p) => r.re.test(p))) excluded = !r.negate
    return excluded
  }
}

interface Copy { readonly sources: readonly string[], readonly dest: string }

/** The Dockerfile's `COPY <src>… <dest>` lines from the build context (shell form; anything fancier is refused, not guessed). */
function copyLines (dockerfile: string): Copy[] {
  const out: Copy[] = []
  let workdir = '/'
  for (const line of dockerfile.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim())) {
    const [instr, ...rest] = line.split(/\s+/)
    const kw = instr?.toUpperCase()
    if (kw === 'WORKDIR') workdir = posix.resolve(workdir, rest.join(' '))
    if (kw === 'ADD') throw new Error(`ADD is not understood here: ${line}`)
    if (kw !== 'COPY') continue
    if (rest[0]?.startsWith('[') === true) throw new Error(`JSON-form COPY is not understood here: ${line}`)
    const args = rest.filter((a) => !a.startsWith('--'))
    if (rest.some((a) => a.startsWith('--from'))) throw new Error(`COPY --from is not from the build context: ${line}`)
    if (args.length < 2) throw new Error(`COPY without a destination: ${line}`)
    if (args.some((a) => /[*?[]/.test(a))) throw new Error(`wildcards in COPY are not understood here: ${line}`)
    const dest = posix.resolve(workdir, args.at(-1) as string) + ((args.at(-1) as string).endsWith('/') ? '/' : '')
    out.push({ sources: args.slice(0, -1).map((s) => posix.normalize(s).replace(/^\.?\/+/, '').replace(/\/+$/, '')), dest })
  }
  return out
}

/** Image path (relative to the image's WORKDIR) → repository path, for every file the COPY lines bring in. */
function imageFiles (copies: readonly Copy[], contextFiles: readonly string[], workdir: string): Map<string, string> {
  const files = new Map<string, string>()
  for (const { sources, dest } of copies) {
    for (const src of sources) {
      const exact = contextFiles.includes(src)
      const under = contextFiles.filter((f) => f.startsWith(src + '/'))
      if (!exact && under.length === 0) throw new Error(`COPY ${src}: not in the build context (missing, or excluded by .dockerignore)`)
      const put = (imagePath: string, from: string): void => {
        const rel = posix.relative(workdir, imagePath)
        if (rel.startsWith('..')) throw new Error(`COPY ${src} lands outside WORKDIR ${workdir}: ${imagePath}`)
        files.set(rel, from)
      }
      if (exact) put(dest.endsWith('/') || sources.length > 1 ? posix.join(dest, posix.basename(src)) : dest, src)
      // A directory source copies its contents into dest.
      for (const f of under) put(posix.join(dest, f.slice(src.length + 1)), f)
    }
  }
  return files
}

const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
const workdir = /^WORKDIR\s+(\S+)/m.exec(dockerfile)?.[1] ?? '/'
const ignored = dockerIgnore(readFileSync(join(ROOT, '.dockerignore'), 'utf8'))
const tracked = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter((f) => f !== '' && existsSync(join(ROOT, f)))
const context = tracked.filter((f) => !ignored(f))
const files = imageFiles(copyLines(dockerfile), context, workdir)

/** A directory holding exactly the image's files, with this checkout's node_modules. */
function buildImageDir (): string {
  const dir = mkdtempSync(join(tmpdir(), 'talkhint-image-'))
  for (const [to, from] of files) {
    mkdirSync(dirname(join(dir, to)), { recursive: true })
    copyFileSync(join(ROOT, from), join(dir, to))
  }
  // The image runs `npm ci --omit=dev`; the bare-import check below makes up for linking the dev tree here.
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir')
  mkdirSync(join(dir, 'data'))
  return dir
}

/** What the image's environment holds: its ENV lines and nothing of this machine's TalkHint settings. */
function imageEnv (extra: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '', HOME: tmpdir(), NODE_ENV: 'production', ...extra }
}

interface Run { child: ChildProcess, out: () => string, exited: Promise<number | null> }
function run (dir: string, args: string[], env: NodeJS.ProcessEnv, ipc = false): Run {
  const child = spawn(process.execPath, args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe', ...(ipc ? ['ipc' as const] : [])] })
  let out = ''
  child.stdout?.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr?.on('data', (d: Buffer) => { out += d.toString() })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return { child, out: () => out, exited }
}

const SERVER_ENV = {
  PUBLIC_BASE_URL: 'https://talkhint-image.example.com',
  TWILIO_ACCOUNT_SID: 'AC' + '0'.repeat(32),
  TWILIO_AUTH_TOKEN: 'f'.repeat(32),
  DASHBOARD_TOKEN: 'image-test-dashboard-token',
  DATABASE_URL: 'sqlite:./data/talkhint.db',
  HOST: '127.0.0.1',
  PORT: '0',
  LOG_LEVEL: 'warn',
}

t.test('the file list: what the Dockerfile copies, without test/ or bench/', async (t) => {
  const paths = [...files.keys()]
  for (const must of ['package.json', 'package-lock.json', 'src/server.ts', 'tools/demo.ts', 'tools/doctor.ts', 'fakes/openai-demo.ts', 'bin/talkhint.js', 'playbook.md', 'static/index.html']) {
    t.ok(files.has(must), must)
  }
  t.same(paths.filter((p) => /^(test|bench)\//.test(p) || p.startsWith('node_modules/')), [], 'no tests, benchmarks or node_modules')
  t.ok(ignored('test/e2e/demo.test.ts') && ignored('bench/hub/run.ts') && !ignored('src/server.ts'), '.dockerignore read as Docker reads it')
})

t.test('every package the image\'s code imports at run time is a production dependency', async (t) => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }
  const builtins = new Set(builtinModules)
  const missing: string[] = []
  for (const [to, from] of files) {
    if (!/\.(ts|js|mjs|cjs)$/.test(to)) continue
    const code = readFileSync(join(ROOT, from), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '')
    // Type-only imports are erased before Node runs the file.
    for (const m of code.matchAll(/(?:^|[\n;])\s*(?:import|export)\s(?!type\s)(?:[^'"`;]*?\sfrom\s*)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)|\brequire\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      const spec = (m[1] ?? m[2] ?? m[3]) as string
      if (spec.startsWith('.') || spec.startsWith('node:') || builtins.has(spec)) continue
      const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0] as string
      if (pkg.dependencies[name] === undefined) missing.push(`${to} imports ${name}`)
    }
  }
  t.same(missing, [], 'npm ci --omit=dev installs them')
})

t.test('in a directory holding only the image\'s files', async (t) => {
  const dir = buildImageDir()
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))

  await t.test('node src/server.ts starts (the CMD\'s flags, a minimal env) and answers /healthz', async (t) => {
    const cmd = JSON.parse((dockerfile.split('\n').find((l) => l.startsWith('CMD ')) as string).slice(4)) as string[]
    t.equal(cmd[0], 'node')
    const server = run(dir, cmd.slice(1), imageEnv(SERVER_ENV), true)
    t.teardown(() => { server.child.kill('SIGKILL') })
    const port = await Promise.race([
      new Promise<number>((resolve) => server.child.once('message', (m: { port: number }) => resolve(m.port))),
      server.exited.then((code) => { throw new Error(`the server exited (${code}) before listening:\n${server.out()}`) }),
    ])
    const res = await fetch(`http://127.0.0.1:${port}/healthz`)
    t.equal(res.status, 200)
    t.same(await res.json(), { status: 'ok' })

    // The doctor, from the image, against that server: its modules load and its server checks pass.
    const doctor = run(dir, ['tools/doctor.ts', '--json', '--timeout', '10', '--connect', `http://127.0.0.1:${port}`], imageEnv(SERVER_ENV))
    t.teardown(() => { doctor.child.kill('SIGKILL') })
    const code = await doctor.exited
    let report: { checks: Array<{ id: string, status: string, message: string }> } | undefined
    try { report = JSON.parse(doctor.out()) } catch {}
    t.ok(report, `the doctor printed its JSON report:\n${doctor.out()}`)
    const status = Object.fromEntries((report?.checks ?? []).map((c) => [c.id, c.status]))
    // config warns here (no OPENAI_API_KEY, no OPERATOR_PHONE); the webhook check skips (no TWILIO_PHONE_NUMBER).
    t.match(status, { config: /^(pass|warn)$/, health: 'pass', version: 'pass', stream: 'pass' }, 'config valid; /healthz, /version and the media-stream handshake pass')
    t.equal(code, 0, 'the doctor passes')

    server.child.kill('SIGTERM')
    t.equal(await server.exited, 0, 'and it stops cleanly on SIGTERM')
  })

  await t.test('node tools/demo.ts --exit plays its call and exits 0', async (t) => {
    const demo = run(dir, ['tools/demo.ts', '--exit', '--speed', '8'], imageEnv({ PORT: '0' }))
    t.teardown(() => { demo.child.kill('SIGKILL') })
    const code = await demo.exited
    if (code !== 0) t.comment(demo.out())
    t.equal(code, 0, 'exits 0')
    t.match(demo.out(), /problems {3}none/, 'the simulated call had no problems')
    const db = join(dir, 'data', 'demo.db')
    t.ok(existsSync(db) && statSync(db).size > 0, 'its history in ./data')
  })

  await t.test('node tools/doctor.ts --help and the talkhint launcher work', async (t) => {
    const help = run(dir, ['tools/doctor.ts', '--help'], imageEnv({}))
    t.equal(await help.exited, 0)
    t.match(help.out(), /^Usage: npm run doctor/)
    const bin = run(dir, ['bin/talkhint.js', 'doctor', '--help'], imageEnv({}))
    t.equal(await bin.exited, 0)
    t.match(bin.out(), /^Usage: npm run doctor/)
  })
})
