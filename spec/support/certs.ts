/**
 * Throwaway X.509 material for TLS tests, made with the openssl command line in a directory the
 * caller owns (a server's tmp dir or a test's mkdtemp dir): a CA, and certificates it signs for a
 * server (subjectAltName as given) or a client.
 *
 *   const ca = await makeCa(dir, 'test-ca');
 *   const server = await makeCert(ca, dir, 'server', { san: ['IP:127.0.0.1', 'DNS:localhost'] });
 *   const client = await makeCert(ca, dir, 'client', { client: true });
 *
 * RSA 2048 keys, unencrypted, valid for a day; about 50 ms per certificate.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { runCommand } from './proc.js';

export interface CertificateAuthority {
  readonly name: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** PEM of the CA certificate. */
  readonly pem: string;
}

export interface IssuedCertificate {
  readonly certFile: string;
  readonly keyFile: string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const res = await runCommand('openssl', args, { cwd, allowFail: true, timeoutMs: 30_000 });
  if (res.code !== 0) throw new Error(`openssl ${args[0]} failed (exit ${res.code}): ${res.stderr.trim()}`);
}

/** A self-signed CA named `name` (files `<name>.pem`, `<name>.key` in `dir`). */
export async function makeCa(dir: string, name: string): Promise<CertificateAuthority> {
  const certFile = path.join(dir, `${name}.pem`);
  const keyFile = path.join(dir, `${name}.key`);
  await openssl(
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', `/CN=${name}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    dir,
  );
  return { name, certFile, keyFile, pem: await fsp.readFile(certFile, 'utf8') };
}

/**
 * A certificate signed by `ca` (files `<name>.pem`, `<name>.key`): a server certificate with the
 * given subjectAltName entries (`IP:127.0.0.1`, `DNS:localhost`), or a client one.
 */
export async function makeCert(ca: CertificateAuthority, dir: string, name: string, opts: { san?: string[]; client?: boolean } = {}): Promise<IssuedCertificate> {
  const certFile = path.join(dir, `${name}.pem`);
  const keyFile = path.join(dir, `${name}.key`);
  const csr = path.join(dir, `${name}.csr`);
  const ext = path.join(dir, `${name}.ext`);
  await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', csr, '-subj', `/CN=${name}`], dir);
  const lines = ['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment', `extendedKeyUsage=${opts.client ? 'clientAuth' : 'serverAuth'}`];
  if (opts.san && opts.san.length > 0) lines.push(`subjectAltName=${opts.san.join(',')}`);
  await fsp.writeFile(ext, `${lines.join('\n')}\n`);
  await openssl(['x509', '-req', '-in', csr, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-CAcreateserial', '-out', certFile, '-days', '1', '-extfile', ext], dir);
  return { certFile, keyFile };
}
