import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { commands } from '@topoflow/cli'
import { repoRoot, run } from './validators.ts'

const dir = join(repoRoot, 'deploy/systemd')
const units = readdirSync(dir).filter((f) => f.endsWith('.service')).sort()
const services = ['api', 'capture', 'enricher', 'graph-builder', 'k8s-probe']

/** systemd-analyze checks units offline; in CI its absence is a failure. */
function systemdAnalyze (t: TestContext): boolean {
  if (run('systemd-analyze', ['--version']).status === 0) return true
  if (process.env.CI === 'true') assert.fail('systemd-analyze is required in CI (Debian package systemd)')
  t.skip('systemd-analyze not installed')
  return false
}

/** `Key=value` lines of one section; a key may repeat. */
function section (unit: string, name: string): Array<[string, string]> {
  const text = readFileSync(join(dir, unit), 'utf8')
  const out: Array<[string, string]> = []
  let current = ''
  for (const line of text.split('\n')) {
    const header = /^\[(\w+)\]$/.exec(line)
    if (header !== null) { current = header[1] ?? ''; continue }
    const kv = /^(\w+)=(.*)$/.exec(line)
    if (kv !== null && current === name) out.push([kv[1] ?? '', kv[2] ?? ''])
  }
  return out
}

const value = (unit: string, key: string): string | undefined => section(unit, 'Service').find(([k]) => k === key)?.[1]

test('there is one unit per service, each running its topoflow command with the config and the environment file', () => {
  assert.deepEqual(units, services.map((s) => `topoflow-${s}.service`))
  for (const service of services) {
    const unit = `topoflow-${service}.service`
    const exec = (value(unit, 'ExecStart') ?? '').split(' ')
    assert.deepEqual(exec, ['/usr/bin/node', '/opt/topoflow/packages/cli/bin/topoflow.js', service, '--config', '/etc/topoflow/topoflow.yml'], unit)
    assert.ok(commands[service]?.run !== undefined, `${service} is not a topoflow command`)
    assert.equal(value(unit, 'EnvironmentFile'), '/etc/topoflow/topoflow.env', unit)
    assert.equal(value(unit, 'Restart'), 'on-failure', unit)
    assert.deepEqual(section(unit, 'Install'), [['WantedBy', 'multi-user.target']], unit)
  }
})

test('only capture runs as root, with exactly the capabilities capture uses', () => {
  for (const unit of units) {
    const caps = (value(unit, 'CapabilityBoundingSet') ?? '').split(' ').filter((c) => c !== '').sort()
    assert.equal(value(unit, 'NoNewPrivileges'), 'yes', unit)
    assert.equal(value(unit, 'ProtectSystem'), 'strict', unit)
    if (unit === 'topoflow-capture.service') {
      assert.equal(value(unit, 'User'), 'root')
      assert.deepEqual(caps, ['CAP_DAC_READ_SEARCH', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_SYS_ADMIN', 'CAP_SYS_PTRACE'])
      // capture sees the host's interfaces and every process
      assert.equal(value(unit, 'PrivateNetwork'), undefined)
      assert.equal(value(unit, 'ProtectProc'), undefined)
      assert.match(value(unit, 'RestrictAddressFamilies') ?? '', /AF_PACKET/)
    } else {
      assert.equal(value(unit, 'User'), 'topoflow', unit)
      assert.deepEqual(caps, [], unit)
    }
  }
})

test('systemd-analyze verify accepts every unit without a warning', (t) => {
  if (!systemdAnalyze(t)) return
  for (const unit of units) {
    const { status, output } = run('systemd-analyze', ['verify', `./${unit}`], { cwd: dir })
    assert.equal(status, 0, `${unit}:\n${output}`)
    assert.equal(output.trim(), '', `${unit}:\n${output}`)
  }
})

test('the hardening holds: systemd-analyze security rates every unit OK', (t) => {
  if (!systemdAnalyze(t)) return
  for (const unit of units) {
    const { status, output } = run('systemd-analyze', ['security', '--offline=yes', '--no-pager', `./${unit}`], { cwd: dir })
    assert.equal(status, 0, `${unit}:\n${output}`)
    const m = /Overall exposure level for \S+: (\d+\.\d+)/.exec(output)
    assert.ok(m !== null, `no exposure level for ${unit}:\n${output}`)
    const exposure = Number(m[1])
    // capture is a packet sniffer running as root; the others hold no privilege at all
    const bound = unit === 'topoflow-capture.service' ? 4.5 : 2.0
    assert.ok(exposure <= bound, `${unit}: exposure ${exposure} above ${bound}`)
  }
})
