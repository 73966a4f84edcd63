import t from 'tap'
import { postgresEngine } from './databases.ts'
import { storeSuite } from './suite.ts'

// Runs when DATABASE_URL_TEST points at a PostgreSQL server (.ci/run sets it); otherwise a visible skip.
t.test('PostgreSQL engine', { skip: postgresEngine.skip }, async (t) => {
  storeSuite(t, postgresEngine)
})
