/** Types for store.js (the browser's copy of the hub state), so TypeScript tests can drive it. */
import type { ServerMessage, UiCall } from '../../src/hub/schema.ts'

export const SCHEMA_VERSION: number
export interface Store {
  calls: Map<string, UiCall>
  seq: number
  scope: string
  serverOffset: number
  synced: boolean
}
export type Applied =
  | { kind: 'snapshot' } | { kind: 'heartbeat' } | { kind: 'ignored' } | { kind: 'version', v: number }
  | { kind: 'event', type: string, callSid: string }
export function createStore (): Store
export function insertLine (lines: unknown[], line: { startMs: number }): void
export function applyMessage (store: Store, msg: ServerMessage, clientNow?: number): Applied
export function sortedCalls (store: Store): { live: UiCall[], ended: UiCall[] }
