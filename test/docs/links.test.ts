/** Every relative link in README.md and docs/*.md resolves: the file exists and a `#fragment` names a heading in it. */
import { test } from 'tap'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../..', import.meta.url))
const pages = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)]

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug (heading: string): string {
  return heading.trim().toLowerCase().replace(/[`*_]/g, '').replace(/[^\p{L}\p{N} -]/gu, '').replace(/ /g, '-')
}

/** The anchors a Markdown file offers (duplicate headings get -1, -2 … as on GitHub). */
function anchors (text: string): Set<string> {
  const seen = new Map<string, number>()
  const out = new Set<string>()
  for (const m of text.replace(/```[\s\S]*?```/g, '').matchAll(/^#{1,6} (.+)$/gm)) {
    const base = slug(m[1] as string)
    const n = seen.get(base) ?? 0
    seen.set(base, n + 1)
    out.add(n === 0 ? base : `${base}-${n}`)
  }
  return out
}

/** `[text](target)` and `![alt](target)` outside code blocks and inline code. */
function links (text: string): string[] {
  const prose = text.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '')
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] as string)
}

test('the slug matches GitHub for the headings we link to', async (t) => {
  t.equal(slug('Outbound dialling (toll fraud)'), 'outbound-dialling-toll-fraud')
  t.equal(slug('doctor --live'), 'doctor---live')
  t.equal(slug('A2. What Twilio sends'), 'a2-what-twilio-sends')
  t.equal(slug('C. OpenAI Realtime API (GA)'), 'c-openai-realtime-api-ga')
})

for (const page of pages) {
  test(`${page}: every relative link resolves`, async (t) => {
    const text = readFileSync(join(root, page), 'utf8')
    const targets = links(text).filter((l) => !/^[a-z]+:/i.test(l))
    if (targets.length === 0) t.pass(`${page} has no relative links`)
    for (const target of targets) {
      const [path = '', fragment] = target.split('#')
      const file = path === '' ? join(root, page) : join(root, dirname(page), decodeURI(path))
      const where = relative(root, file)
      if (!existsSync(file)) {
        t.fail(`${target}: ${where} does not exist`)
        continue
      }
      if (fragment !== undefined) {
        t.ok(anchors(readFileSync(file, 'utf8')).has(fragment), `${target}: ${where} has a heading #${fragment}`)
      } else {
        t.pass(`${target}: ${where} exists`)
      }
    }
  })
}

test('every doc in docs/ is linked from the README', async (t) => {
  const readme = links(readFileSync(join(root, 'README.md'), 'utf8'))
  for (const page of pages.filter((p) => p !== 'README.md')) t.ok(readme.includes(page), `README links to ${page}`)
})
