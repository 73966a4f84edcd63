/** No import cycles among the project's own modules (src/, plugins/, tools/, fakes/, bin/), type-only and lazy imports included. */
import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const DIRS = ['src', 'plugins', 'tools', 'fakes', 'bin']

function sourceFiles (dir: string): string[] {
  const out: string[] = []
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name)
    if (e.isDirectory()) out.push(...sourceFiles(p))
    else if (/\.(ts|js|mjs|cjs)$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p)
  }
  return out
}

/** Every module specifier a file names: static imports and re-exports (type-only too), `import '…'` and `import('…')`. */
function specifiers (code: string): string[] {
  const noComments = code.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1')
  const found: string[] = []
  for (const m of noComments.matchAll(/(?:^|[\n;])\s*(?:import|export)\s(?:[^'"`;]*?\sfrom\s*)?['"]([^'"]+)['"]/g)) found.push(m[1] as string)
  for (const m of noComments.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) found.push(m[1] as string)
  return found
}

/** The graph's cycles: one representative path per strongly connected component larger than a lone node without a self-edge. */
function findCycles (graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const cycles: string[][] = []
  const visit = (v: string): void => {
    index.set(v, next)
    low.set(v, next++)
    stack.push(v)
    onStack.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number))
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) as number, index.get(w) as number))
      }
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = []
      let w: string
      do {
        w = stack.pop() as string
        onStack.delete(w)
        scc.push(w)
      } while (w !== v)
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(scc.sort())
    }
  }
  for (const v of graph.keys()) if (!index.has(v)) visit(v)
  return cycles
}

t.test('the cycle finder finds cycles, including through a type-only import, and nothing else', async (t) => {
  const sample = [
    "import type { A } from './a.ts'",
    'import {',
    '  b,',
    '} from "./b.ts"',
    "export { d } from './d.ts'",
    "import './side.ts'",
    "const m = await import('./lazy.ts')",
    "// import { x } from './commented.ts'",
    'const s = \'from "./not-an-import.ts"\'',
  ].join('\n')
  t.same(specifiers(sample),
    ['./a.ts', './b.ts', './d.ts', './side.ts', './lazy.ts'])
  t.same(findCycles(new Map([['a', ['b']], ['b', ['c']], ['c', []]])), [], 'a chain is no cycle')
  t.same(findCycles(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]])), [['a', 'b', 'c']], 'a → b → c → a')
  t.same(findCycles(new Map([['a', ['a']]])), [['a']], 'a module importing itself')
})

t.test('no module of src/, plugins/, tools/, fakes/ or bin/ imports itself through others', async (t) => {
  const graph = new Map<string, string[]>()
  for (const dir of DIRS) {
    for (const file of sourceFiles(join(ROOT, dir))) {
      const deps = specifiers(readFileSync(file, 'utf8')).filter((s) => s.startsWith('.')).map((s) => resolve(dirname(file), s))
      graph.set(file, deps)
    }
  }
  t.ok(graph.size > 100, `read the tree (${graph.size} files)`)
  const cycles = findCycles(graph).map((c) => c.map((f) => relative(ROOT, f)))
  t.same(cycles, [], cycles.map((c) => c.join(' ↔ ')).join('; ') || 'no cycles')
})
