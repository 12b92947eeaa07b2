/**
 * Configuration behaviour that mutation testing (make mutation, docs/testing.md) showed no
 * other spec pins down: valid values are accepted and used, every bound is exact, every
 * documented default is the one in force.
 */
import { expect } from 'chai';
import { ConfigError, ENV_VARS, describeConfig, loadConfig, parseDuration, type Config } from '../src/config.js';

type Env = Record<string, string | undefined>;

/** The problems loadConfig reports for `env` ([] when it accepts it). */
function problems(env: Env): readonly string[] {
  try {
    loadConfig(env);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

function problemsOf(name: string, env: Env): string[] {
  return problems(env).filter((p) => p.startsWith(`${name}:`));
}

const MYSQL = 'mysql://u:p@db/tf';

describe('config (behaviour found by mutation testing)', () => {
  describe('ENV_VARS, the one documented list', () => {
    it('names exactly the variables loadConfig reads', () => {
      const read = new Set<string>();
      const spy = new Proxy({} as Env, {
        get(_t, k) {
          if (typeof k === 'string') read.add(k);
          return undefined;
        },
      });
      loadConfig(spy);
      expect(ENV_VARS.map((v) => v.name).sort()).to.deep.equal([...read].sort());
    });

    it('gives every variable a default and a description', () => {
      for (const v of ENV_VARS) {
        expect(v.default, v.name).to.not.equal('');
        expect(v.description, v.name).to.not.equal('');
      }
    });

    it('documents the defaults in force: setting a variable to its documented default changes nothing', () => {
      const base = loadConfig({});
      const notValues = new Set(['API_TOKEN', 'HEALTHZ_MAX_PASS_AGE']); // described, not literal values
      for (const v of ENV_VARS) {
        if (notValues.has(v.name)) continue;
        expect(loadConfig({ [v.name]: v.default }), v.name).to.deep.equal(base);
      }
    });
  });

  it('ConfigError lists one problem a line and names itself', () => {
    let err: unknown;
    try {
      loadConfig({ WORKERS: 'many', LOG_LEVEL: 'loud' });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(ConfigError);
    const e = err as ConfigError;
    expect(e.name).to.equal('ConfigError');
    expect(e.message).to.equal(`invalid configuration:\n  - ${e.problems[0]}\n  - ${e.problems[1]}`);
    expect(e.problems).to.have.length(2);
  });

  describe('values', () => {
    it('ignores blank values and trims the others', () => {
      expect(loadConfig({ WORKERS: '   ', HOST_NAME: ' \t ' })).to.deep.equal(loadConfig({}));
      const c = loadConfig({ WORKERS: ' 8 ', HOST_NAME: ' node-b ', LOG_LEVEL: ' debug ' });
      expect([c.workers, c.hostName, c.logLevel]).to.deep.equal([8, 'node-b', 'debug']);
    });

    it('parses decimal durations, with and without a unit, and trims them', () => {
      expect(parseDuration('0.25')).to.equal(250);
      expect(parseDuration('1.5s')).to.equal(1500);
      expect(parseDuration('1.25s')).to.equal(1250);
      expect(parseDuration(' 45 ')).to.equal(45_000);
      expect(parseDuration(' 2m ')).to.equal(120_000);
      expect(parseDuration('x45')).to.equal(undefined);
    });

    it('accepts every valid WORKERS and HTTP_PORT, including the bounds, and uses it', () => {
      for (const [raw, n] of [['1', 1], ['16', 16], ['256', 256]] as const) expect(loadConfig({ WORKERS: raw }).workers, raw).to.equal(n);
      for (const [raw, n] of [['0', 0], ['9090', 9090], ['65535', 65535]] as const) expect(loadConfig({ HTTP_PORT: raw }).httpPort, raw).to.equal(n);
      const c = loadConfig({ WRITE_BATCH_SIZE: '5000', DB_POOL_SIZE: '1' });
      expect([c.writeBatchSize, c.dbPoolSize]).to.deep.equal([5000, 1]);
    });

    it('refuses integers out of range or not made of digits only', () => {
      for (const raw of ['0', '257', '-1', 'x8', '8x', '1.5', '1e2']) expect(problemsOf('WORKERS', { WORKERS: raw }), raw).to.have.length(1);
      expect(problemsOf('HTTP_PORT', { HTTP_PORT: '65536' })).to.have.length(1);
      expect(problemsOf('WRITE_BATCH_SIZE', { WRITE_BATCH_SIZE: '5001' })).to.have.length(1);
      expect(problemsOf('DB_POOL_SIZE', { DB_POOL_SIZE: '0' })).to.have.length(1);
    });

    it('reads every duration variable and refuses zero or negative ones', () => {
      const c = loadConfig({
        SHUTDOWN_GRACE_PERIOD: '1ms',
        RETRY_MAX_DELAY: '5ms',
        DB_STATEMENT_TIMEOUT: '100ms',
        DB_CONNECT_TIMEOUT: '2s',
        EVENT_RETENTION: '1m',
        HEALTHZ_MAX_PASS_AGE: '5m',
        LEASE_DURATION: '20s',
        RENEW_DEADLINE: '15s',
        RETRY_PERIOD: '3s',
      });
      expect(c).to.deep.include({
        shutdownGracePeriodMs: 1,
        retryMaxDelayMs: 5,
        dbStatementTimeoutMs: 100,
        dbConnectTimeoutMs: 2000,
        eventRetentionMs: 60_000,
        healthzMaxPassAgeMs: 300_000,
        leaseDurationMs: 20_000,
        renewDeadlineMs: 15_000,
        retryPeriodMs: 3_000,
      });
      for (const raw of ['0', '-1s']) expect(problemsOf('SHUTDOWN_GRACE_PERIOD', { SHUTDOWN_GRACE_PERIOD: raw }), raw).to.have.length(1);
    });

    it('refuses a duration below its minimum and accepts the minimum itself', () => {
      const table: Array<[name: string, minMs: number, env: Env]> = [
        ['LEASE_DURATION', 1000, { RENEW_DEADLINE: '600ms', RETRY_PERIOD: '100ms' }],
        ['RENEW_DEADLINE', 500, { RETRY_PERIOD: '100ms' }],
        ['RETRY_PERIOD', 100, {}],
        ['RETRY_MAX_DELAY', 5, {}],
        ['DB_STATEMENT_TIMEOUT', 100, {}],
        ['DB_CONNECT_TIMEOUT', 100, {}],
        ['EVENT_RETENTION', 60_000, {}],
      ];
      for (const [name, min, env] of table) {
        expect(problems({ ...env, [name]: `${min}ms` }), `${name}=${min}ms`).to.deep.equal([]);
        const below = problemsOf(name, { ...env, [name]: `${min - 1}ms` });
        expect(below, `${name}=${min - 1}ms`).to.have.length(1);
        expect(below[0]).to.contain(`at least ${min}ms`);
      }
    });

    it('needs RETRY_PERIOD < RENEW_DEADLINE < LEASE_DURATION, strictly', () => {
      expect(problemsOf('RENEW_DEADLINE', { LEASE_DURATION: '10s', RENEW_DEADLINE: '10s' })).to.have.length(1);
      expect(problemsOf('RETRY_PERIOD', { RENEW_DEADLINE: '5s', RETRY_PERIOD: '5s' })).to.have.length(1);
    });

    it('derives /healthz max pass age from the interval: three intervals, at least 60 s', () => {
      expect(loadConfig({}).healthzMaxPassAgeMs).to.equal(90_000);
      expect(loadConfig({ RECONCILE_INTERVAL: '10s' }).healthzMaxPassAgeMs).to.equal(60_000);
      expect(loadConfig({ RECONCILE_INTERVAL: '2m' }).healthzMaxPassAgeMs).to.equal(360_000);
    });

    it('keeps container events for 7 days by default', () => {
      expect(loadConfig({}).eventRetentionMs).to.equal(7 * 86_400_000);
    });

    it('takes API_TOKEN as given (empty means open) and never shows it', () => {
      const c = loadConfig({ API_TOKEN: 's3cret-token' });
      expect(c.apiToken).to.equal('s3cret-token');
      expect(describeConfig(c).apiToken).to.equal('***');
      expect(JSON.stringify(describeConfig(c))).to.not.contain('s3cret');
      expect(loadConfig({}).apiToken).to.equal('');
      expect(describeConfig(loadConfig({})).apiToken).to.equal('');
    });

    it('takes HOST_NAME and HTTP_HOST as given', () => {
      const c = loadConfig({ HOST_NAME: 'node-b.example', HTTP_HOST: '127.0.0.1' });
      expect([c.hostName, c.httpHost]).to.deep.equal(['node-b.example', '127.0.0.1']);
    });

    it('accepts a HOST_NAME of 255 characters and refuses 256, or one with "@", spaces or control characters', () => {
      expect(loadConfig({ HOST_NAME: 'h'.repeat(255) }).hostName).to.have.length(255);
      expect(problemsOf('HOST_NAME', { HOST_NAME: 'h'.repeat(256) })).to.deep.equal(['HOST_NAME: at most 255 characters, got 256']);
      for (const bad of ['a@b', 'a b', 'a\u0001b', 'a\u007fb']) expect(problemsOf('HOST_NAME', { HOST_NAME: bad }), JSON.stringify(bad)).to.have.length(1);
      const [msg] = problemsOf('HOST_NAME', { HOST_NAME: `${'x'.repeat(100)}@` });
      expect(msg).to.contain('x'.repeat(80));
      expect(msg).to.not.contain('x'.repeat(81));
    });

    it('accepts every log level in any case and lists them when refusing one', () => {
      for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']) {
        expect(loadConfig({ LOG_LEVEL: level }).logLevel).to.equal(level);
        expect(loadConfig({ LOG_LEVEL: level.toUpperCase() }).logLevel).to.equal(level);
      }
      expect(problemsOf('LOG_LEVEL', { LOG_LEVEL: 'loud' })).to.deep.equal(['LOG_LEVEL: expected one of trace, debug, info, warn, error, fatal, silent, got "loud"']);
    });
  });

  describe('LEADER_ELECTION', () => {
    it('accepts true, 1, yes (any case) and false, 0, no with MySQL', () => {
      for (const on of ['true', '1', 'yes', 'TRUE', 'Yes']) expect(loadConfig({ DATABASE_URL: MYSQL, LEADER_ELECTION: on }).leaderElection, on).to.equal(true);
      for (const off of ['false', '0', 'no', 'FALSE', 'No']) expect(loadConfig({ DATABASE_URL: MYSQL, LEADER_ELECTION: off }).leaderElection, off).to.equal(false);
      expect(loadConfig({ DATABASE_URL: MYSQL, LEADER_ELECTION: 'auto' }).leaderElection).to.equal(true);
    });

    it('refuses anything else, a typo included', () => {
      for (const bad of ['ture', 'on', 'off', 'enabled', '2']) {
        expect(problemsOf('LEADER_ELECTION', { DATABASE_URL: MYSQL, LEADER_ELECTION: bad }), bad).to.deep.equal([`LEADER_ELECTION: expected true, false or auto, got "${bad}"`]);
      }
    });

    it('is off with SQLite unless asked for, and asking for it is refused', () => {
      for (const off of ['false', '0', 'no', 'auto']) expect(loadConfig({ LEADER_ELECTION: off }).leaderElection, off).to.equal(false);
      for (const on of ['true', '1', 'yes']) expect(problemsOf('LEADER_ELECTION', { LEADER_ELECTION: on }), on).to.have.length(1);
    });
  });

  describe('DATABASE_URL', () => {
    it('takes a sqlite: path, with or without //', () => {
      expect(loadConfig({ DATABASE_URL: 'sqlite:/var/lib/tf.db' }).database).to.deep.equal({ kind: 'sqlite', path: '/var/lib/tf.db' });
      expect(loadConfig({ DATABASE_URL: 'sqlite:///var/lib/tf.db' }).database).to.deep.equal({ kind: 'sqlite', path: '/var/lib/tf.db' });
      expect(loadConfig({ DATABASE_URL: 'sqlite://tf.db' }).database).to.deep.equal({ kind: 'sqlite', path: 'tf.db' });
      for (const raw of ['sqlite:', 'sqlite://']) expect(problemsOf('DATABASE_URL', { DATABASE_URL: raw }), raw).to.have.length(1);
    });

    it('takes mysql:// and mariadb:// with the default port 3306, options and IPv6 hosts', () => {
      const want = { kind: 'mysql', host: 'db', port: 3306, hosts: [{ host: 'db', port: 3306 }], user: 'u', password: 'p', database: 'tf', tls: { mode: 'DISABLED' }, params: {} };
      expect(loadConfig({ DATABASE_URL: 'mysql://u:p@db/tf' }).database).to.deep.equal(want);
      expect(loadConfig({ DATABASE_URL: 'mariadb://u:p@db/tf' }).database).to.deep.equal(want);
      expect(loadConfig({ DATABASE_URL: 'mysql://u:p@db/tf?ssl=true' }).database).to.deep.include({ params: { ssl: 'true' }, tls: { mode: 'VERIFY_CA' } });
      expect(loadConfig({ DATABASE_URL: 'mysql://u:p@[::1]:3307/tf' }).database).to.deep.include({ host: '::1', port: 3307 });
    });

    it('refuses a URL without host, one that is no URL, and other schemes by name', () => {
      expect(problemsOf('DATABASE_URL', { DATABASE_URL: 'mysql:///tf' })).to.deep.equal(['DATABASE_URL: names no host (expected mysql://user:password@host:3306/database)']);
      const [notUrl] = problemsOf('DATABASE_URL', { DATABASE_URL: 'mysql://u:hunter2@[bad/tf' });
      expect(notUrl).to.contain('is no host name');
      expect(notUrl).to.not.contain('hunter2');
      expect(problemsOf('DATABASE_URL', { DATABASE_URL: 'postgres://u:p@h/db' })[0]).to.contain('unsupported scheme "postgres"');
    });
  });

  describe('DOCKER_HOST', () => {
    it('honours an explicit port and the scheme', () => {
      expect(loadConfig({ DOCKER_HOST: 'tcp://proxy:12345' }).docker).to.deep.equal({ kind: 'tcp', host: 'proxy', port: 12345, protocol: 'http' });
      expect(loadConfig({ DOCKER_HOST: 'http://proxy' }).docker).to.deep.equal({ kind: 'tcp', host: 'proxy', port: 2375, protocol: 'http' });
      expect(loadConfig({ DOCKER_HOST: 'https://proxy' }).docker).to.deep.equal({ kind: 'tcp', host: 'proxy', port: 2376, protocol: 'https' });
      expect(loadConfig({ DOCKER_HOST: 'https://proxy:2443/' }).docker).to.deep.equal({ kind: 'tcp', host: 'proxy', port: 2443, protocol: 'https' });
      expect(loadConfig({ DOCKER_HOST: 'tcp://[::1]:2375' }).docker).to.deep.equal({ kind: 'tcp', host: '::1', port: 2375, protocol: 'http' });
    });

    it('accepts ports 1 to 65535 only', () => {
      for (const port of [1, 65535]) expect(loadConfig({ DOCKER_HOST: `tcp://h:${port}` }).docker).to.deep.include({ port });
      for (const port of [0, 65536, 70000]) expect(problemsOf('DOCKER_HOST', { DOCKER_HOST: `tcp://h:${port}` }), String(port)).to.deep.equal([`DOCKER_HOST: port out of range in "tcp://h:${port}"`]);
    });

    it('refuses anything but the whole of unix:///path or SCHEME://host[:port][/]', () => {
      for (const raw of ['foo+tcp://h:2375', 'tcp://h:2375/v1.41', 'ssh://h', 'tcp://h:port', 'tcp://a]b:2375', 'tcp://ab]:2375', 'tcp://[a[b]:2375', 'tcp://[::1:2375']) {
        expect(problemsOf('DOCKER_HOST', { DOCKER_HOST: raw }), raw).to.have.length(1);
      }
    });
  });

  describe('describeConfig', () => {
    const shown = (env: Env) => describeConfig(loadConfig(env));

    it('shows where the database and Docker are, without secrets', () => {
      expect(shown({})).to.deep.include({ database: 'sqlite:./data/tinyforge.db', docker: 'unix:///var/run/docker.sock' });
      expect(shown({ DATABASE_URL: 'mysql://tf:pw@db:3307/x', DOCKER_HOST: 'tcp://proxy:2375' })).to.deep.include({ database: 'mysql://tf:***@db:3307/x', docker: 'tcp://proxy:2375' });
      expect(shown({ DATABASE_URL: 'mysql://tf@db/x', DOCKER_HOST: 'https://proxy' })).to.deep.include({ database: 'mysql://tf@db:3306/x', docker: 'https://proxy:2376' });
    });

    it('keeps every other field as configured', () => {
      const c: Config = loadConfig({ WORKERS: '7' });
      expect(describeConfig(c)).to.deep.include({ workers: 7, hostName: 'local', leaderElection: false });
    });
  });
});
