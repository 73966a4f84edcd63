/** Setup doctor: the shapes of checks, their results and the network functions they are given. */
import type { Config } from '../../src/config.ts'
import type { TwilioApi } from '../../src/twilio/rest.ts'
import type { ResponsesClient } from '../../src/ai/hints.ts'
import type { ConnectRealtime } from '../../src/ai/realtime-connection.ts'

export type CheckId = 'config' | 'models' | 'health' | 'version' | 'stream' | 'webhook'
  | 'openai-assist' | 'openai-agent' | 'openai-hint' | 'openai-summary'
/** `fixed` and `warn` do not fail the run; `fail` does; `skip` means the check could not run. */
export type CheckStatus = 'pass' | 'fixed' | 'warn' | 'fail' | 'skip'

export interface CheckResult {
  readonly id: CheckId
  readonly title: string
  readonly status: CheckStatus
  /** What was found, in one line. */
  readonly message: string
  /** More lines: every config problem, every warning. */
  readonly details?: readonly string[]
  /** Exactly how to fix it. */
  readonly fix?: string
  /** Machine-readable facts for --json (status codes, the /version body, the webhook URL…). */
  readonly data?: Readonly<Record<string, unknown>>
}

export interface DoctorReport {
  /** false when any check failed (the CLI exits non-zero). */
  readonly ok: boolean
  readonly publicBaseUrl: string | undefined
  /** The --connect origin, when the public origin was mapped to another address. */
  readonly connect: string | undefined
  readonly checks: readonly CheckResult[]
}

export interface HttpResponse { readonly status: number, readonly body: string }
/** GET a URL (already public; the function maps it if --connect is set). Rejects with a Node-style `code` on network failure. */
export type HttpGet = (url: string, timeoutMs: number) => Promise<HttpResponse>

export type HandshakeResult =
  | { readonly kind: 'open', readonly protocol: string }
  /** The server answered the upgrade request with a plain HTTP status. */
  | { readonly kind: 'refused', readonly status: number }
  /** The upgrade happened but the subprotocol was missing or not the one offered. */
  | { readonly kind: 'subprotocol', readonly detail: string }
export interface HandshakeOptions { readonly protocol: string, readonly headers: Readonly<Record<string, string>>, readonly timeoutMs: number }
/** Opens a WebSocket (then closes it at once); rejects with a Node-style `code` on network failure. */
export type WsHandshake = (url: string, opts: HandshakeOptions) => Promise<HandshakeResult>

/** What the live checks talk to: the same connector and client the server builds from the config. */
export interface LiveDeps {
  readonly connect: ConnectRealtime
  readonly responses: ResponsesClient
}

export interface DoctorDeps {
  readonly httpGet: HttpGet
  readonly wsHandshake: WsHandshake
  /** Builds the Twilio REST client from the checked config (the CLI passes createTwilioApi). */
  readonly twilioApi?: (opts: { accountSid: string, authToken: string, baseUrl: string | undefined }) => TwilioApi
  /** --live: the realtime connector and Responses client built from the checked config (undefined without OPENAI_API_KEY). */
  readonly live?: (config: Config) => LiveDeps | undefined
}

export interface DoctorOptions {
  /** Environment to check (process.env plus .env in the CLI). */
  readonly env: Readonly<Record<string, string | undefined>>
  /** Update the number's voice webhook through the REST API when it is wrong. */
  readonly fix?: boolean
  /** Per network step. */
  readonly timeoutMs: number
  /** The package version of this checkout; a deployment older than it is stale. */
  readonly localVersion: string
  /** Expected commit (prefix match either way): anything else is a stale deployment. */
  readonly expectCommit?: string
  /** Expected deploy id; defaults to DEPLOY_ID from the environment. */
  readonly expectDeployId?: string
  /** Shown in the report when the public origin is mapped elsewhere. */
  readonly connect?: string
  /** Also open the sessions and send the requests calls would (doctor --live), each within `liveTimeoutMs`. */
  readonly live?: boolean
  readonly liveTimeoutMs?: number
  /** The date model retirements are counted from (tests); default now. */
  readonly now?: Date
}
