import { expect } from 'chai';
import { ConfigError, ENV_VARS, clampInterval, describeConfig, loadConfig, parseDuration } from '../src/config.js';
import { redactSecrets } from '../src/util/redact.js';

describe('config', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({});
    expect(c.database).to.deep.equal({ kind: 'sqlite', path: './data/tinyforge.db' });
    expect(c.docker).to.deep.equal({ kind: 'unix', socketPath: '/var/run/docker.sock' });
    expect(c.hostName).to.equal('local');
    expect(c.reconcileIntervalMs).to.equal(30_000);
    expect(c.workers).to.equal(4);
    expect(c.httpPort).to.equal(8080);
    expect(c.httpHost).to.equal('0.0.0.0');
    expect(c.logLevel).to.equal('info');
    expect(c.leaderElection).to.equal(false);
    expect([c.leaseDurationMs, c.renewDeadlineMs, c.retryPeriodMs]).to.deep.equal([40_000, 30_000, 10_000]);
    expect(c.lastSeenMaxAgeMs).to.equal(300_000);
    expect(c.shutdownGracePeriodMs).to.equal(30_000);
  });

  it('parses durations', () => {
    const table: Array<[string, number | undefined]> = [
      ['500ms', 500],
      ['30s', 30_000],
      ['2m', 120_000],
      ['1h', 3_600_000],
      ['7d', 604_800_000],
      ['1m30s', 90_000],
      ['45', 45_000],
      ['0.5', 500],
      ['0', 0],
      ['-5', -5000],
      ['-1s', -1000],
      ['', undefined],
      ['abc', undefined],
      ['5 s', undefined],
      ['10x', undefined],
      ['s', undefined],
    ];
    for (const [raw, ms] of table) expect(parseDuration(raw), raw).to.equal(ms);
  });

  it('clamps the interval as the Go original does', () => {
    expect(clampInterval(0)).to.equal(30_000);
    expect(clampInterval(-1000)).to.equal(30_000);
    expect(clampInterval(NaN)).to.equal(30_000);
    expect(clampInterval(500)).to.equal(500);
    expect(clampInterval(300_000)).to.equal(300_000);
    expect(clampInterval(300_001)).to.equal(300_000);
    expect(loadConfig({ RECONCILE_INTERVAL: '10m' }).reconcileIntervalMs).to.equal(300_000);
    expect(loadConfig({ RECONCILE_INTERVAL: '0' }).reconcileIntervalMs).to.equal(30_000);
    expect(loadConfig({ RECONCILE_INTERVAL: '-3s' }).reconcileIntervalMs).to.equal(30_000);
    expect(loadConfig({ RECONCILE_INTERVAL: '500ms' }).reconcileIntervalMs).to.equal(500);
  });

  it('names every bad variable in one error', () => {
    let err: unknown;
    try {
      loadConfig({ RECONCILE_INTERVAL: 'soon', WORKERS: 'many', HTTP_PORT: '70000', LOG_LEVEL: 'loud', DOCKER_HOST: 'ftp://x', DATABASE_URL: 'postgres://u:hunter2@h/db', LEASE_DURATION: '5s', RENEW_DEADLINE: '10s' });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(ConfigError);
    const msg = (err as Error).message;
    for (const v of ['RECONCILE_INTERVAL', 'WORKERS', 'HTTP_PORT', 'LOG_LEVEL', 'DOCKER_HOST', 'DATABASE_URL', 'RENEW_DEADLINE']) expect(msg).to.contain(`${v}:`);
    expect((err as ConfigError).problems.length).to.be.at.least(7);
    expect(msg).not.to.contain('hunter2');
  });

  it('parses MySQL URLs with encoded credentials and never shows the password', () => {
    const c = loadConfig({ DATABASE_URL: 'mysql://tf:p%40ss%3Aword@db.example:3307/tinyforge?ssl=true' });
    expect(c.database).to.deep.include({ kind: 'mysql', host: 'db.example', port: 3307, user: 'tf', password: 'p@ss:word', database: 'tinyforge' });
    expect(c.leaderElection, 'auto: on for MySQL').to.equal(true);
    const shown = JSON.stringify(describeConfig(c));
    expect(shown).not.to.contain('p@ss');
    expect(shown).to.contain('***');
    expect(() => loadConfig({ DATABASE_URL: 'mysql://u:secretpw@host' })).to.throw(/names no database/);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://u:secretpw@host' })).to.throw(ConfigError).with.property('message').that.does.not.contain('secretpw');
    expect(redactSecrets('mysql://u:secretpw@h:1/d')).to.equal('mysql://u:***@h:1/d');
  });

  it('parses DOCKER_HOST forms', () => {
    expect(loadConfig({ DOCKER_HOST: 'unix:///run/d.sock' }).docker).to.deep.equal({ kind: 'unix', socketPath: '/run/d.sock' });
    expect(loadConfig({ DOCKER_HOST: 'tcp://127.0.0.1:2375' }).docker).to.deep.equal({ kind: 'tcp', host: '127.0.0.1', port: 2375, protocol: 'http' });
    expect(loadConfig({ DOCKER_HOST: 'tcp://proxy' }).docker).to.deep.include({ port: 2375 });
    expect(() => loadConfig({ DOCKER_HOST: 'unix://relative.sock' })).to.throw(/absolute/);
  });

  it('refuses leader election on SQLite when asked explicitly', () => {
    expect(() => loadConfig({ LEADER_ELECTION: 'true' })).to.throw(/LEADER_ELECTION/);
    expect(loadConfig({ LEADER_ELECTION: 'auto' }).leaderElection).to.equal(false);
    expect(loadConfig({ DATABASE_URL: 'mysql://u:p@h/d', LEADER_ELECTION: 'false' }).leaderElection).to.equal(false);
  });

  it('documents every variable it reads', () => {
    const names = ENV_VARS.map((v) => v.name);
    expect(new Set(names).size).to.equal(names.length);
    for (const n of ['DATABASE_URL', 'DOCKER_HOST', 'HOST_NAME', 'RECONCILE_INTERVAL', 'WORKERS', 'HTTP_PORT', 'HTTP_HOST', 'LOG_LEVEL']) expect(names).to.include(n);
  });
});
