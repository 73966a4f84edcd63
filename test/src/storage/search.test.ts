/** The list's phone filter: what counts as part of a number, and the LIKE pattern it becomes. */
import t from 'tap'
import { parsePhonePart, phoneLikePattern } from '../../../src/storage/search.ts'

t.test('part of a number: digits anywhere, or after a leading + the start', async (t) => {
  for (const [raw, digits, at, pattern] of [
    ['0123', '0123', 'contains', '%0123%'],
    ['415 555', '415555', 'contains', '%415555%'],
    ['(415) 555-0123', '4155550123', 'contains', '%4155550123%'],
    [' +1 415.555 ', '1415555', 'starts', '+1415555%'],
    ['+14155550123', '14155550123', 'starts', '+14155550123%'],
    ['whatsapp:+4420', '4420', 'starts', '+4420%'],
  ] as const) {
    const p = parsePhonePart(raw)
    t.same(p, { ok: true, value: { digits, at } }, raw)
    if (p.ok) t.equal(phoneLikePattern(p.value), pattern)
  }
})

t.test('anything else is refused with what to type', async (t) => {
  for (const [raw, message] of [
    ['12', /at least 3 digits/], ['+44', /at least 3 digits/], ['', /at least 3 digits/],
    ['ada', /in digits/], ['415%', /in digits/], ['41_5', /in digits/], ['1+415', /in digits/], ['++1415', /in digits/],
    ['1234567890123456', /at most 15 digits/],
  ] as const) {
    const p = parsePhonePart(raw)
    t.equal(p.ok, false, raw)
    if (!p.ok) {
      t.match(p.message, message)
      t.notMatch(p.message, /invalid|E\.164|must/, 'in plain words')
    }
  }
})
