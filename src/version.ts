/** Build identity for /version: which build is live, since when. */
import { readFileSync } from 'node:fs'
import type { Config } from './config.ts'

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }

export interface VersionInfo {
  version: string
  commit: string | null
  deployId: string | null
  startedAt: string
  node: string
  mode: string
}

/** Builds the /version body once at start-up (GIT_COMMIT / DEPLOY_ID come from the deploy). */
export function versionInfo (config: Config, startedAt: Date): VersionInfo {
  return {
    version: pkg.version,
    commit: config.commit ?? null,
    deployId: config.deployId ?? null,
    startedAt: startedAt.toISOString(),
    node: process.version,
    mode: config.mode,
  }
}
