import t from 'tap'
import { sqliteEngine } from '../storage/databases.ts'
import { storeSuite } from '../storage/suite.ts'

storeSuite(t, sqliteEngine)
