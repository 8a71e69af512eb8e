import assert from 'node:assert/strict'
import { test } from 'node:test'
import { hostMetadata, parseCpuInfo, parseCpuList, parseOsRelease, readHostFacts } from '../../../src/topology/host.ts'
import { fixtureFs, procRecording } from './fixtures.ts'

test('host metadata from the recorded os-release and cpuinfo, operator metadata merged', async () => {
  const facts = await readHostFacts(fixtureFs(), { hostname: 'vm', kernelRelease: '6.1.0', operator: { Rack: 'r12', Hostname: 'override' } })
  const m = hostMetadata(facts)
  const osr = parseOsRelease(procRecording().files['/etc/os-release'] ?? '')
  assert.equal(m.OS, 'linux')
  assert.equal(m.Platform, osr.ID)
  assert.equal(m.PlatformVersion, osr.VERSION_ID)
  assert.equal(m.KernelVersion, '6.1.0')
  assert.equal(m.Rack, 'r12')
  assert.equal(m.Hostname, 'override')
  const cpus = m.CPU as Array<Record<string, unknown>>
  const processors = (procRecording().files['/proc/cpuinfo'] ?? '').match(/^processor\s*:/gm) ?? []
  assert.equal(cpus.length, processors.length)
  assert.deepEqual(Object.keys(cpus[0] ?? {}), ['CPU', 'VendorID', 'Family', 'Model', 'Stepping', 'PhysicalID', 'CoreID', 'Cores', 'ModelName', 'Mhz', 'CacheSize', 'Microcode'])
  assert.equal(cpus[0]?.CPU, 0)
  assert.equal(typeof cpus[0]?.Mhz, 'number')
})

test('cpuinfo fields are typed as Skydive casts them', () => {
  const [cpu] = parseCpuInfo('processor\t: 3\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\nmodel name\t: Xeon\nstepping\t: 7\nmicrocode\t: 0x5003604\ncpu MHz\t\t: 2593.906\ncache size\t: 36608 KB\nphysical id\t: 1\ncore id\t\t: 2\ncpu cores\t: 4\n')
  assert.deepEqual(cpu, { CPU: 3, VendorID: 'GenuineIntel', Family: '6', Model: '85', Stepping: 7, PhysicalID: '1', CoreID: '2', Cores: 4, ModelName: 'Xeon', Mhz: 2593, CacheSize: 36608, Microcode: '0x5003604' })
})

test('os-release quoting, ID_LIKE family, isolated CPU lists', () => {
  assert.deepEqual(parseOsRelease('# c\nID=ubuntu\nID_LIKE="debian"\nNAME=\'Ubuntu\'\nBAD\n'), { ID: 'ubuntu', ID_LIKE: 'debian', NAME: 'Ubuntu' })
  assert.equal(hostMetadata({ hostname: 'x', kernelRelease: '', osRelease: 'ID=ubuntu\nID_LIKE=debian\n' }).PlatformFamily, 'debian')
  assert.deepEqual(parseCpuList('1-3,8\n'), [1, 2, 3, 8])
  assert.deepEqual(parseCpuList('\n'), [])
  assert.deepEqual(hostMetadata({ hostname: 'x', kernelRelease: '', isolatedCpus: '2-3' }).IsolatedCPU, [2, 3])
})
