// Writes fixtures/<Record>/v<N>.hex for schema versions that have none yet. Existing files are never
// rewritten: a published version's encoding must not change. Usage: npm run -w schemas pin:fixtures
import { pinGolden } from '../src/golden.ts'
import { schemaVersions } from '../src/registry.ts'
import { topicNames } from '../src/topics.ts'

for (const topic of topicNames) {
  for (const v of schemaVersions(topic)) {
    const written = pinGolden(topic, v.version)
    if (written !== undefined) console.log(`Pinned ${written}`)
  }
}
