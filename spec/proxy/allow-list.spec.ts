import { expect } from 'chai';
import { checkRequest, MAX_TARGET_LENGTH, type RequestHeaders } from '../../src/proxy/allow-list.js';

const ID = '3f4e9a0c1b2d3f4e9a0c1b2d3f4e9a0c1b2d3f4e9a0c1b2d3f4e9a0c1b2d3f4e';

/** What the reconciler's own Docker client sends (src/docker/docker.client.ts, plain HTTP). */
const ALLOWED: Array<[string, string, string]> = [
  ['GET', '/_ping', '/_ping'],
  ['HEAD', '/_ping', '/_ping'],
  ['GET', '/v1.41/_ping', '/_ping'],
  ['HEAD', '/v1.47/_ping', '/_ping'],
  ['GET', '/version', '/version'],
  ['GET', '/v1.24/version', '/version'],
  ['GET', '/containers/json', '/containers/json'],
  ['GET', '/containers/json?', '/containers/json'],
  ['GET', '/containers/json?all=true&filters=%7B%22label%22%3A%5B%22tinyforge.managed%3Dtrue%22%5D%7D', '/containers/json'],
  ['GET', '/v1.47/containers/json?all=1', '/containers/json'],
  ['GET', `/containers/${ID}/json`, '/containers/{id}/json'],
  ['GET', `/containers/${ID.slice(0, 12)}/json?size=false`, '/containers/{id}/json'],
  ['GET', '/containers/my_web.app-1/json', '/containers/{id}/json'],
  ['GET', '/v1.41/containers/web/json', '/containers/{id}/json'],
  // A container named "json" is still an inspect.
  ['GET', '/containers/json/json', '/containers/{id}/json'],
  ['GET', '/events', '/events'],
  ['GET', '/events?since=1700000000&filters=%7B%22type%22%3A%5B%22container%22%5D%7D', '/events'],
  ['GET', '/v1.41/events?until=1700000001', '/events'],
];

/** Method, target, headers, the reason expected. */
const REFUSED: Array<[string, string, RequestHeaders, string]> = [
  // Writes and everything else of the API.
  ['POST', '/containers/create', {}, 'path'],
  ['POST', '/v1.41/containers/create?name=evil', {}, 'path'],
  ['POST', `/containers/${ID}/start`, {}, 'path'],
  ['POST', `/containers/${ID}/exec`, {}, 'path'],
  ['POST', '/exec/abc/start', {}, 'path'],
  ['DELETE', `/containers/${ID}?force=1`, {}, 'path'],
  ['PUT', `/containers/${ID}/archive?path=/tmp`, {}, 'path'],
  ['POST', '/build', {}, 'path'],
  ['POST', '/containers/json', {}, 'method'],
  ['DELETE', '/containers/json', {}, 'method'],
  ['HEAD', '/version', {}, 'method'],
  ['HEAD', `/containers/${ID}/json`, {}, 'method'],
  ['OPTIONS', '/_ping', {}, 'method'],
  ['get', '/_ping', {}, 'method'],
  ['PATCH', '/events', {}, 'method'],
  // Reads that leak contents or attach to a container.
  ['GET', `/containers/${ID}/logs?stdout=1&stderr=1`, {}, 'path'],
  ['GET', `/containers/${ID}/export`, {}, 'path'],
  ['GET', `/containers/${ID}/archive?path=/etc/shadow`, {}, 'path'],
  ['HEAD', `/containers/${ID}/archive?path=/`, {}, 'path'],
  ['GET', `/containers/${ID}/attach/ws?stream=1`, {}, 'path'],
  ['GET', `/containers/${ID}/stats`, {}, 'path'],
  ['GET', `/containers/${ID}/top`, {}, 'path'],
  ['GET', `/containers/${ID}/changes`, {}, 'path'],
  ['GET', '/info', {}, 'path'],
  ['GET', '/images/json', {}, 'path'],
  ['GET', '/secrets', {}, 'path'],
  ['GET', '/system/df', {}, 'path'],
  ['GET', '/', {}, 'path'],
  ['GET', '', {}, 'path'],
  // Path tricks: the engine's router cleans and decodes, so none of these is normalised here.
  ['GET', '/containers/json/../create', {}, 'path'],
  ['GET', '/containers/json/../../images/json', {}, 'path'],
  ['GET', '/v1.41/containers/json/../../images/json', {}, 'path'],
  ['GET', '/containers/../images/json', {}, 'path'],
  ['GET', `/containers/${ID}/json/../logs`, {}, 'path'],
  ['GET', '/containers/./json', {}, 'path'],
  ['GET', '/./version', {}, 'path'],
  ['GET', '/containers/%2e%2e/images/json', {}, 'path'],
  ['GET', '/containers/%2E%2E/json', {}, 'path'],
  ['GET', '/containers/x%2Fy/json', {}, 'path'],
  ['GET', '/containers/x%2flogs%3f/json', {}, 'path'],
  ['GET', '/%63ontainers/json', {}, 'path'],
  ['GET', '/containers/x%00/json', {}, 'path'],
  ['GET', '/containers/x\\..\\logs/json', {}, 'path'],
  ['GET', '//containers/json', {}, 'path'],
  ['GET', '/containers//json', {}, 'path'],
  ['GET', `/containers/${ID}//json`, {}, 'path'],
  ['GET', '/containers/json/', {}, 'path'],
  ['GET', '/version/', {}, 'path'],
  ['GET', '/_ping;x=1', {}, 'path'],
  ['GET', '/events#frag', {}, 'path'],
  ['GET', '/v1.41/v1.41/version', {}, 'path'],
  ['GET', '/v2.0/version', {}, 'path'],
  ['GET', '/v1.4a/version', {}, 'path'],
  ['GET', '/V1.41/version', {}, 'path'],
  ['GET', '/CONTAINERS/json', {}, 'path'],
  ['GET', `/containers/.${ID}/json`, {}, 'path'],
  ['GET', `/containers/-x/json`, {}, 'path'],
  ['GET', `/containers/${'a'.repeat(129)}/json`, {}, 'path'],
  ['GET', 'http://docker/containers/json', {}, 'path'],
  ['GET', 'docker:2375', {}, 'path'],
  ['GET', '*', {}, 'path'],
  // Queries outside RFC 3986.
  ['GET', '/containers/json?all=1 HTTP/1.1', {}, 'query'],
  ['GET', '/events?filters={"type":["container"]}', {}, 'query'],
  ['GET', '/events?x=%zz', {}, 'query'],
  ['GET', '/events?x=%4', {}, 'query'],
  ['GET', '/events?x=\u00e9', {}, 'query'],
  ['GET', '/events?x=#y', {}, 'query'],
  // Absurdly long targets.
  ['GET', `/containers/json?x=${'a'.repeat(MAX_TARGET_LENGTH)}`, {}, 'too_long'],
  ['GET', `/${'a/'.repeat(50_000)}`, {}, 'too_long'],
  // Bodies on a GET, smuggling framing, hijacks.
  ['GET', `/containers/${ID}/json`, { 'content-length': '7' }, 'body'],
  ['GET', `/containers/${ID}/json`, { 'content-length': ['0', '5'] }, 'body'],
  ['GET', '/_ping', { 'transfer-encoding': 'chunked' }, 'body'],
  ['GET', '/_ping', { 'transfer-encoding': 'identity' }, 'body'],
  ['GET', '/_ping', { 'content-length': '3', 'transfer-encoding': 'chunked' }, 'body'],
  ['GET', '/events', { upgrade: 'tcp', connection: 'Upgrade' }, 'upgrade'],
  ['GET', '/events', { upgrade: 'websocket' }, 'upgrade'],
  ['GET', '/events', { connection: 'keep-alive, Upgrade' }, 'upgrade'],
  ['GET', '/events', { connection: 'upgrade' }, 'upgrade'],
  ['GET', '/_ping', { expect: '100-continue' }, 'expect'],
];

describe('docker-proxy allow-list (checkRequest)', () => {
  it('lets through exactly the calls the reconciler makes, with and without a version prefix', () => {
    for (const [method, target, route] of ALLOWED) {
      expect(checkRequest(method, target), `${method} ${target}`).to.deep.equal({ allowed: true, route });
    }
  });

  it('refuses every other method, path, path trick, query, length, body and hijack, naming the reason', () => {
    const wrong = REFUSED.map(([m, t, h, reason]) => ({ call: `${m} ${t.slice(0, 80)} ${JSON.stringify(h)}`, reason, got: checkRequest(m, t, h) })).filter(
      (x) => x.got.allowed || x.got.reason !== x.reason,
    );
    expect(wrong, JSON.stringify(wrong, null, 1)).to.deep.equal([]);
  });

  it('accepts harmless headers on allowed calls: Content-Length 0, keep-alive, close, the user agent', () => {
    const headers = { 'content-length': '0', connection: 'keep-alive', 'user-agent': 'docker-cli', accept: '*/*', host: 'docker' };
    expect(checkRequest('GET', '/containers/json', headers)).to.deep.equal({ allowed: true, route: '/containers/json' });
    expect(checkRequest('GET', '/events', { connection: 'close' })).to.deep.equal({ allowed: true, route: '/events' });
    // "upgrade" is refused as a token, not as a substring of another one.
    expect(checkRequest('GET', '/events', { connection: 'x-upgraded-by' })).to.deep.equal({ allowed: true, route: '/events' });
  });

  it('the length limit sits exactly at MAX_TARGET_LENGTH', () => {
    const base = '/containers/json?x=';
    const fits = base + 'a'.repeat(MAX_TARGET_LENGTH - base.length);
    expect(fits).to.have.length(MAX_TARGET_LENGTH);
    expect(checkRequest('GET', fits)).to.deep.equal({ allowed: true, route: '/containers/json' });
    expect(checkRequest('GET', `${fits}a`)).to.deep.equal({ allowed: false, reason: 'too_long' });
  });

  it('a body or an upgrade is refused even on a path that would be allowed (the header checks come first)', () => {
    for (const [m, t] of ALLOWED) {
      expect(checkRequest(m, t, { 'transfer-encoding': 'chunked' }), `${m} ${t}`).to.deep.equal({ allowed: false, reason: 'body' });
      expect(checkRequest(m, t, { upgrade: 'tcp' }), `${m} ${t}`).to.deep.equal({ allowed: false, reason: 'upgrade' });
    }
  });
});
