/**
 * The local stand-in for OpenAI that `npm run demo` (and `node fakes/openai-demo.ts`) uses when no
 * OPENAI_API_KEY is set: the Realtime fake in demo mode (energy VAD, answers by itself) with the Responses fake
 * mounted on the same port, so one OPENAI_BASE_URL serves transcripts, hints and summaries exactly as the real
 * API would on the wire. The words are canned: transcripts come from the known fixture sentences when an
 * utterance's length matches one, hints and summaries from a few keyword rules. Nothing here is AI.
 *
 * One more rule for agent mode (`npm run demo -- --agent`): a caller's pricing question is handed to a person. The
 * agent calls `transfer_to_operator` instead of answering, as a real model told to leave prices to people would; the
 * briefing the operator hears is canned from the same keywords. A session the app told that nobody was free (its
 * system note) offers to take a message instead of transferring again.
 */
import { pathToFileURL } from 'node:url'
import { createFakeResponses, type RecordedResponsesRequest } from './openai-http.ts'
import { FAKE_OPENAI_KEY, FakeRealtimeServer, tone, type FakeRealtimeConnection } from './realtime-server.ts'

/** What the shipped fixtures say (tools/make-fixtures.sh), so the demo transcript reads like the call. */
export const FIXTURE_SENTENCES: readonly string[] = [
  "Hi, I'm calling about the pricing of your premium plan. Is there a discount for annual billing?",
  'Thanks for calling! Yes, annual billing saves twenty percent.',
]

/** espeak-ng at 160 words per minute, plus a little lead-in and trailing silence. */
function spokenSeconds (sentence: string): number {
  return sentence.split(/\s+/).length / (160 / 60)
}

/**
 * The sentence whose spoken length is closest to `seconds`, if it is within 35%: fixtures read back as
 * themselves, anything else (your own WAV) gets an honest placeholder.
 */
export function guessSentence (seconds: number, sentences: readonly string[] = FIXTURE_SENTENCES): string | undefined {
  let best: string | undefined
  let bestErr = Infinity
  for (const s of sentences) {
    const err = Math.abs(spokenSeconds(s) - seconds) / spokenSeconds(s)
    if (err < bestErr) { best = s; bestErr = err }
  }
  return bestErr <= 0.35 ? best : undefined
}

const RULES: ReadonlyArray<[RegExp, string]> = [
  [/discount|annual|pric|cost|expensive/, 'Confirm the 20% annual discount, then ask how many seats they need so you can quote a total.'],
  [/cancel|refund|unhappy/, 'Acknowledge the frustration first, then ask what would make it right before offering options.'],
  [/competitor|cheaper|other vendor/, 'Ask what they value most, then contrast on support and uptime rather than price.'],
]

function inputText (req: RecordedResponsesRequest): string {
  return JSON.stringify(req.input ?? '').toLowerCase()
}

/** What the agent's demo rule hands to a person: a question about prices. */
const PRICING = /discount|annual|pric|cost/i

/** The operator's whisper, canned from the same keywords as the hints (the app asks with its briefing instructions). */
function demoBriefing (text: string): string {
  return PRICING.test(text)
    ? 'A caller is asking about the price of the premium plan and whether annual billing is discounted. The AI agent did not quote a price and handed the call to you to confirm it.'
    : 'A caller is being handed over from the AI agent. What they said so far is on the dashboard.'
}

function demoReply (req: RecordedResponsesRequest): string {
  const format = (req.body?.text as { format?: { type?: string } } | undefined)?.format
  const text = inputText(req)
  if ((req.instructions ?? '').includes('brief a human operator')) return demoBriefing(text)
  if (format?.type === 'json_schema') {
    const pricing = /discount|annual|pric/.test(text)
    const answered = /twenty percent|20%/.test(text)
    return JSON.stringify({
      summary: pricing
        ? `The caller asked about premium plan pricing and annual billing${answered ? '; the operator confirmed a 20% annual discount' : ''}.`
        : 'A short demo call; the transcript has the details.',
      intent: pricing ? 'Pricing enquiry (annual billing discount)' : 'General enquiry',
      action_items: pricing ? ['Send a quote for the premium plan with annual billing', 'Follow up on the number of seats'] : ['Follow up with the caller'],
    })
  }
  // The newest utterance is at the end of the input; match on it first, then on the whole call.
  const tail = text.slice(-400)
  for (const [re, hint] of RULES) if (re.test(tail)) return hint
  for (const [re, hint] of RULES) if (re.test(text)) return hint
  return 'Ask an open question about what they are trying to get done.'
}

export interface DemoOpenAI {
  /** Give to OPENAI_BASE_URL. */
  readonly url: string
  /** Give to OPENAI_API_KEY. */
  readonly apiKey: string
  close (): Promise<void>
}

/**
 * The agent's turn after the caller spoke (VAD's own response.create) or after the app's own response.create.
 * `heard` is the caller's last utterance on that session, as the demo transcribed it.
 */
function agentTurn (conn: FakeRealtimeConnection, event: Record<string, unknown>, heard: string | undefined): void {
  const response = event.response as { instructions?: unknown } | undefined
  const instructions = String(response?.instructions ?? '')
  const quoted = /"([^"]+)"/.exec(instructions)?.[1]
  if (quoted !== undefined) {
    conn.respond({ transcript: quoted, chunks: [tone(100), tone(100), tone(100)] })
    return
  }
  // The app told this session that nobody took the transfer (a system note): take a message, never transfer again.
  if ([...conn.items.values()].some((i) => i.role === 'system')) {
    conn.respond({ transcript: 'Sorry, nobody is free right now. May I take your name and number so someone calls you back?', chunks: [tone(400), tone(400)] })
    return
  }
  if (heard !== undefined && PRICING.test(heard)) {
    conn.functionCall('transfer_to_operator', { reason: 'The caller asks about premium plan pricing; a person confirms prices.' })
    return
  }
  conn.respond({ transcript: instructions === '' ? 'I heard you. This is the fake Realtime server answering.' : 'OK.', chunks: [tone(400), tone(400), tone(400)] })
}

/** Starts the demo stand-in on `port` (0 = any free port) on 127.0.0.1. */
export async function startDemoOpenAI (opts: { port?: number, tokenDelayMs?: number } = {}): Promise<DemoOpenAI> {
  const responses = createFakeResponses({ apiKey: FAKE_OPENAI_KEY, reply: demoReply, tokenDelayMs: opts.tokenDelayMs ?? 40 })
  const heard = new WeakMap<FakeRealtimeConnection, string>()
  const realtime = new FakeRealtimeServer({
    auto: true,
    record: false,
    http: responses.listener,
    // VAD's response comes first and the transcript right after, in the same tick: decide once both are in.
    onResponseCreate: (conn, event) => { queueMicrotask(() => agentTurn(conn, event, heard.get(conn))) },
    transcribe: (conn: FakeRealtimeConnection, seconds: number) => {
      const text = guessSentence(seconds) ?? `(demo transcript: ${seconds.toFixed(1)} s of speech)`
      heard.set(conn, text)
      return text
    },
    transcribeCommit: (_conn: FakeRealtimeConnection, _itemId: string, seconds: number) => guessSentence(seconds) ?? `(demo transcript: ${seconds.toFixed(1)} s of speech)`,
  })
  await realtime.listen(opts.port ?? 0)
  return {
    url: realtime.url,
    apiKey: FAKE_OPENAI_KEY,
    async close () {
      responses.stop()
      await realtime.close()
    },
  }
}

// `node fakes/openai-demo.ts [port]`: run it on its own for a dev server or `npm run call`.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const fake = await startDemoOpenAI({ port: Number(process.argv[2] ?? 0) })
  process.stdout.write(`demo OpenAI stand-in (Realtime GA + Responses) listening\nOPENAI_BASE_URL=${fake.url}\nOPENAI_API_KEY=${fake.apiKey}\n`)
}
