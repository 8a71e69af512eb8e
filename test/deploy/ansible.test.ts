import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import { loadConfig } from '@topoflow/core'
import { deployVenv, repoRoot, run, type Venv } from './validators.ts'

const dir = join(repoRoot, 'deploy/ansible')

function ansibleEnv (venv: Venv): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PATH: `${join(venv.bin('ansible'), '..')}:${process.env.PATH ?? ''}`,
    ANSIBLE_CONFIG: join(dir, 'ansible.cfg'),
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_FORCE_COLOR: '0',
    ANSIBLE_DEPRECATION_WARNINGS: '0'
  }
}

/** The file a template task would write, from `--diff` output: the `+` lines after `+++ after: …<name>`. */
function renderedFile (output: string, template: string): string {
  const lines = output.split('\n')
  const start = lines.findIndex((l) => l.startsWith('+++ after: ') && l.endsWith(`/${template}`))
  assert.ok(start >= 0, `no diff for ${template} in the check run:\n${output}`)
  const body: string[] = []
  for (const line of lines.slice(start + 1)) {
    if (line.startsWith('@@')) continue
    if (!line.startsWith('+')) break
    body.push(line.slice(1))
  }
  return body.join('\n')
}

test('the playbook passes ansible-playbook --syntax-check with both example inventories', (t) => {
  const venv = deployVenv(t)
  if (venv === null) return
  for (const inventory of ['inventory/hosts.multiple', 'inventory/hosts.localhost']) {
    const { status, output } = run(venv.bin('ansible-playbook'), ['-i', inventory, '--syntax-check', 'playbook.yml'], { cwd: dir, env: ansibleEnv(venv) })
    assert.equal(status, 0, `syntax check with ${inventory}:\n${output}`)
    assert.match(output, /playbook: playbook\.yml/)
  }
})

test('hosts.multiple has [analyzers] and [agents] with their own settings from group_vars', (t) => {
  const venv = deployVenv(t)
  if (venv === null) return
  const { status, output } = run(venv.bin('ansible-inventory'), ['-i', 'inventory/hosts.multiple', '--playbook-dir', '.', '--list'], { cwd: dir, env: ansibleEnv(venv) })
  assert.equal(status, 0, output)
  const inv = JSON.parse(output) as Record<string, { hosts?: string[] }> & { _meta: { hostvars: Record<string, Record<string, unknown>> } }
  const analyzers = inv.analyzers?.hosts ?? []
  const agents = inv.agents?.hosts ?? []
  assert.ok(analyzers.length > 0 && agents.length > 0, output)
  for (const host of analyzers) {
    assert.deepEqual(inv._meta.hostvars[host]?.topoflow_analyzer_services, ['graph-builder', 'enricher', 'api', 'k8s-probe'])
    assert.ok(inv._meta.hostvars[host]?.topoflow_analyzers_config !== undefined, `${host} has no analyzers settings`)
  }
  for (const host of agents) assert.ok(inv._meta.hostvars[host]?.topoflow_agents_config !== undefined, `${host} has no agents settings`)
  const agentOnly = agents.find((h) => !analyzers.includes(h))
  assert.ok(agentOnly !== undefined)
  assert.equal(inv._meta.hostvars[agentOnly]?.topoflow_analyzers_config, undefined, 'analyzer settings leak to agents')
})

test('a check-mode run on localhost succeeds, changes nothing and renders a valid topoflow.yml', (t) => {
  const venv = deployVenv(t)
  if (venv === null) return
  if (process.getuid?.() !== 0) {
    if (process.env.CI === 'true') assert.fail('the check-mode run needs root (become on localhost)')
    t.skip('the check-mode run needs root (become on localhost)')
    return
  }
  const hadConfigDir = existsSync('/etc/topoflow')
  const tmp = mkdtempSync(join(tmpdir(), 'topoflow-ansible-'))
  try {
    const kubeconfig = join(tmp, 'kubeconfig')
    writeFileSync(kubeconfig, 'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n')
    const { status, output } = run(venv.bin('ansible-playbook'), [
      '-i', 'inventory/hosts.localhost', '--check', '--diff', 'playbook.yml',
      '-e', `topoflow_kubeconfig=${kubeconfig}`,
      '-e', '{"topoflow_env": {"TOPOFLOW_LOGGING_LEVEL": "debug"}}'
    ], { cwd: dir, env: ansibleEnv(venv), timeoutMs: 110_000 })
    assert.equal(status, 0, `check run failed:\n${output}`)
    assert.match(output, /localhost\s+: ok=\d+\s+changed=\d+\s+unreachable=0\s+failed=0/)

    // every service's unit, capture on the agent and the four central services on the analyzer
    assert.match(output, /TASK \[topoflow_common : Units capture\]/)
    assert.match(output, /TASK \[topoflow_common : Units graph-builder, enricher, api, k8s-probe\]/)
    for (const service of ['capture', 'graph-builder', 'enricher', 'api', 'k8s-probe']) {
      assert.match(output, new RegExp(`after: \\S+/deploy/systemd/topoflow-${service}\\.service`), service)
    }

    const yml = renderedFile(output, 'topoflow.yml.j2')
    const configFile = join(tmp, 'topoflow.yml')
    writeFileSync(configFile, yml)
    const config = loadConfig({ file: configFile, env: {} })
    // defaults, then [agents], then [analyzers] settings, then the kubeconfig the analyzer got
    assert.deepEqual(config.agent.topology.probes, ['netns', 'netlink', 'socketinfo'])
    assert.equal(config.analyzer.topology.k8s.cluster_name, 'production')
    assert.equal(config.analyzer.topology.k8s.config_file, '/etc/topoflow/kubeconfig')
    assert.equal((parse(yml) as { kafka?: unknown }).kafka, undefined, 'endpoints belong in topoflow.env')

    const env = renderedFile(output, 'topoflow.env.j2').split('\n').filter((l) => !l.startsWith('#'))
    assert.deepEqual(env, ['KAFKA_BROKERS=10.0.0.4:9092', 'OPENSEARCH_URL=http://10.0.0.4:9200', 'TOPOFLOW_LOGGING_LEVEL=debug'])

    assert.equal(existsSync('/etc/topoflow'), hadConfigDir, 'check mode must not create /etc/topoflow')
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
})
