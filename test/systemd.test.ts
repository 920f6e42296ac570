// The unit file is valid (`systemd-analyze verify`) and its exposure stays at or under 2.0
// (`systemd-analyze security --offline=yes`). Skipped where systemd-analyze is missing.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { notifyReady, startWatchdog } from '../daemon/server/sdnotify.ts';

const UNIT = fileURLToPath(new URL('../systemd/codegraph.service', import.meta.url));
const BIN = fileURLToPath(new URL('../bin/codegraph.js', import.meta.url));
const hasAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The unit with ExecStart pointing at this checkout (verify checks that the binary exists). */
function localUnit(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'cg-unit-'));
  dirs.push(dir);
  const file = path.join(dir, 'codegraph.service');
  writeFileSync(file, readFileSync(UNIT, 'utf8').replace(/^ExecStart=\S+ \S+/m, `ExecStart=${process.execPath} ${BIN}`));
  return file;
}

test('systemd-analyze verify accepts the unit', { skip: !hasAnalyze && 'systemd-analyze not installed (Debian package systemd)' }, () => {
  const r = spawnSync('systemd-analyze', ['verify', localUnit()], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr.trim(), '');
});

test('systemd-analyze security exposure is at most 2.0', { skip: !hasAnalyze && 'systemd-analyze not installed' }, (t) => {
  const r = spawnSync('systemd-analyze', ['security', '--offline=yes', '--no-pager', localUnit()], { encoding: 'utf8' });
  const m = /Overall exposure level for \S+: ([\d.]+)/.exec(r.stdout + r.stderr);
  if (!m) {
    t.skip(`this systemd-analyze has no offline security mode: ${(r.stderr || r.stdout).trim().split('\n')[0]}`);
    return;
  }
  t.diagnostic(`systemd-analyze security exposure: ${m[1]}`);
  assert.ok(Number(m[1]) <= 2.0, `exposure ${m[1]} > 2.0`);
});

test('the unit keeps the settings the daemon relies on', () => {
  const text = readFileSync(UNIT, 'utf8');
  for (const line of ['Type=notify', 'NotifyAccess=all', 'DynamicUser=yes', 'StateDirectory=codegraph', 'EnvironmentFile=-/etc/codegraph/env',
    'NoNewPrivileges=yes', 'ProtectSystem=strict', 'MemoryDenyWriteExecute=no', 'SystemCallFilter=@system-service', 'CapabilityBoundingSet=\n', 'UMask=0077']) {
    assert.ok(text.includes(line), `missing ${line.trim()}`);
  }
});

test('sd_notify helpers are no-ops outside systemd', async () => {
  assert.equal(await notifyReady('x', {}), false);
  const stop = startWatchdog(() => true, { WATCHDOG_USEC: '1000000' });
  stop();
});
