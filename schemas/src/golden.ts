import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { codecForVersion } from './codec.ts'
import { fixturePath, readFixture } from './fixtures.ts'
import type { TopicName } from './topics.ts'

/**
 * Golden encodings pin each published schema version: `fixtures/<Record>/v<N>.hex` holds the encoded
 * fixture. Editing a published .avsc changes its fingerprint, so the bytes stop matching and a test
 * fails: messages already on Kafka would no longer decode. New versions get new files instead.
 */
export function goldenPath (topic: TopicName, version: number): string {
  return fixturePath(topic, version).replace(/\.json$/, '.hex')
}

export function readGolden (topic: TopicName, version: number): Buffer | undefined {
  const path = goldenPath(topic, version)
  return existsSync(path) ? Buffer.from(readFileSync(path, 'utf8').trim(), 'hex') : undefined
}

/** Writes the golden encoding of a version if it has none yet; never rewrites one. */
export function pinGolden (topic: TopicName, version: number): string | undefined {
  if (readGolden(topic, version) !== undefined) return undefined
  const path = goldenPath(topic, version)
  const message = codecForVersion(topic, version).encode(readFixture(topic, version))
  writeFileSync(path, `${message.toString('hex')}\n`)
  return path
}
