import t from 'tap'
import { readFile, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DEFAULT_PLAYBOOK_FILE, FALLBACK_PLAYBOOK, loadPlaybook, playbookId } from '../../../src/ai/playbook.ts'
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
  t.equal(pb.id(), playbookId('HINTS_PROMPT', 'Be brief.'))
  t.match(pb.id(), /^HINTS_PROMPT:[0-9a-f]{12}$/)
})

t.test('playbookId names the source and the version of the text, in characters a metric label allows', async (t) => {
  t.match(playbookId('/srv/app/my playbook.md', 'Sell fibre.'), /^my_playbook\.md:[0-9a-f]{12}$/, 'the file name, not its path')
  t.not(playbookId('/a/pb.md', 'v1'), playbookId('/a/pb.md', 'v2'), 'an edit is a new id')
  t.equal(playbookId('/a/pb.md', 'v1'), playbookId('/b/pb.md', 'v1'), 'stable for the same name and text')
  t.match(playbookId('/a/missing.md', FALLBACK_PLAYBOOK), /^built-in:/)
})

t.test('a playbook file is re-read on refresh when it changed', async (t) => {
  const dir = t.testdir({ 'pb.md': '# v1\nSell fibre.' })
  const file = join(dir, 'pb.md')
  const pb = await loadPlaybook({ file, log: silentLogger })
  t.equal(pb.text(), '# v1\nSell fibre.')
  await writeFile(file, '# v2\nSell more fibre.')
  await utimes(file, new Date(), new Date(Date.now() + 5000))
  t.equal(pb.text(), '# v1\nSell fibre.', 'unchanged until refreshed')
  const v1 = pb.id()
  await pb.refresh()
  t.equal(pb.text(), '# v2\nSell more fibre.')
  t.not(pb.id(), v1, 'the id follows the text')
  t.match(pb.id(), /^pb\.md:/)
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
