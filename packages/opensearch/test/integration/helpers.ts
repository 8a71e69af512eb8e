import type { TestContext } from 'node:test'
import { Client } from '@opensearch-project/opensearch'
import { resolveInfraOrSkip, uniqueName } from '@topoflow/testing'

/** A client and a unique index prefix, removed (indices and templates) after the test; null means skipped. */
export async function useOpenSearch (t: TestContext, kind: string): Promise<{ client: Client, url: string, prefix: string } | null> {
  const infra = await resolveInfraOrSkip(t)
  if (infra === null) return null
  const url = infra.opensearchUrl
  const prefix = uniqueName(kind)
  const client = new Client({ node: url })
  t.after(async () => {
    await client.indices.delete({ index: `${prefix}-*`, ignore_unavailable: true, allow_no_indices: true }).catch((err: unknown) => { console.error(`cleanup of ${prefix}-* failed:`, err) })
    await client.indices.deleteIndexTemplate({ name: `${prefix}-*` }).catch(() => {})
    await client.close()
  })
  return { client, url, prefix }
}
