import t from 'tap'
import { readFile, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DEFAULT_PLAYBOOK_FILE, FALLBACK_PLAYBOOK, loadPlaybook } from '../../../src/ai/playbook.ts'
import { silentLogger, type Logger } from '../../../src/log.ts'

function recorder (): { log: Logger, lines: Array<{ level: string, msg?: string }> } {
  const lines: Array<{ level: string, msg?: string }> = []
  const log: Logger = {
    ...silentLogger,
    warn: (_o, msg) => { lines.push({ level: 'warn', msg }) },
    error: (_o, msg) => { lines.push({ level: 'error', msg }) },
    child: () => log,
  }
  return { log, lines }
}

t.test('the shipped example playbook is the default and has content', async (t) => {
  const pb = await loadPlaybook({ log: silentLogger })
  t.equal(pb.source, DEFAULT_PLAYBOOK_FILE)
  t.match(DEFAULT_PLAYBOOK_FILE, /playbook\.md$/)
  t.equal(pb.text(), (await readFile(DEFAULT_PLAYBOOK_FILE, 'utf8')).trim())
  t.match(pb.text(), /## Objections/)
})

t.test('HINTS_PROMPT (inline) wins over the file', async (t) => {
  const pb = await loadPlaybook({ inline: '  Be brief.  ', file: '/nope/missing.md', log: silentLogger })
  t.equal(pb.text(), 'Be brief.')
  t.equal(pb.source, 'HINTS_PROMPT')
})

t.test('a playbook file is re-read on refresh when it changed', async (t) => {
  const dir = t.testdir({ 'pb.md': '# v1\nSell fibre.' })
  const file = join(dir, 'pb.md')
  const pb = await loadPlaybook({ file, log: silentLogger })
  t.equal(pb.text(), '# v1\nSell fibre.')
  await writeFile(file, '# v2\nSell more fibre.')
  await utimes(file, new Date(), new Date(Date.now() + 5000))
  t.equal(pb.text(), '# v1\nSell fibre.', 'unchanged until refreshed')
  await pb.refresh()
  t.equal(pb.text(), '# v2\nSell more fibre.')
})

t.test('a missing or empty file falls back with one clear log line; a long one is cut', async (t) => {
  const dir = t.testdir({ 'empty.md': '  \n', 'long.md': 'x'.repeat(500) })
  const missing = recorder()
  const pb = await loadPlaybook({ file: join(dir, 'missing.md'), log: missing.log })
  await pb.refresh()
  await pb.refresh()
  t.equal(pb.text(), FALLBACK_PLAYBOOK)
  t.equal(missing.lines.length, 1, 'logged once, not on every refresh')
  t.match(missing.lines[0], { level: 'error', msg: /cannot read the playbook file/ })

  const empty = recorder()
  t.equal((await loadPlaybook({ file: join(dir, 'empty.md'), log: empty.log })).text(), FALLBACK_PLAYBOOK)
  t.match(empty.lines, [{ level: 'warn', msg: /empty/ }])

  const long = recorder()
  t.equal((await loadPlaybook({ file: join(dir, 'long.md'), log: long.log, maxChars: 100 })).text().length, 100)
  t.match(long.lines, [{ level: 'warn', msg: /too long/ }])
})
