/** Child process for the concurrent start-up test: opens the store (migrating) and prints the result. */
import { openStore } from '../../../src/storage/open.ts'

const [url, schema] = process.argv.slice(2)
const { store, migration } = await openStore(url as string, schema === undefined || schema === '' ? {} : { schema })
await store.close()
process.stdout.write(JSON.stringify(migration) + '\n')
