import t from 'tap'
import { sqliteEngine } from './databases.ts'
import { storeSuite } from './suite.ts'

storeSuite(t, sqliteEngine)
