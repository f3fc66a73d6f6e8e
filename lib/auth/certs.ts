// Certificates for a deployment's TLS (`mgrctl certs DIR NAME...`): one CA
// and, per service name, one certificate that serves TLS and is presented
// as a client certificate for mutual TLS (both key usages), signed by the CA.
//   DIR/ca.crt, DIR/ca.key        the CA (ca.key stays with the operator:
//                                 never mount it in a service)
//   DIR/<name>.crt, DIR/<name>.key  a service's certificate and key
//   DIR/<user>.password           a random password (etcd's users), if asked
// Every file is 0600. An existing CA is reused and an existing certificate
// kept (unless its names changed), so the command is safe to run on every
// start (the compose init service); `renew` re-issues the named certificates with new keys (rotation).
// node-forge makes the keys (Node's own RSA generator underneath) and the
// X.509 encoding.
import * as fs from 'fs';
import * as path from 'path';
import * as crypto from 'crypto';
import * as net from 'net';
import forge from 'node-forge';

export interface CertOptions {
  /** Kubernetes namespace: adds <name>.<ns>, <name>.<ns>.svc and <name>.<ns>.svc.cluster.local. */
  namespace?: string;
  /** IP addresses every certificate also names (a host address clients are given, e.g. in the MgrMap). */
  ips?: string[];
  /** Re-issue the named certificates even when they exist (rotation). */
  renew?: boolean;
  /** Validity of a service certificate (days); default 365. */
  days?: number;
  /** Where the CA's key lives (default: DIR); ca.crt is written to both. Keeps ca.key out of the folder services mount. */
  caDir?: string;
  /** Also make DIR/<name>.password (24 random bytes, base64url) for each name where missing: etcd's users. */
  passwords?: string[];
}

const CA_DAYS = 3650;
const NAME_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Every name a service's certificate holds: its DNS names and loopback (for in-container health checks and mgrctl). */
export function subjectAltNames(name: string, namespace?: string, ips: string[] = []): Array<{ type: 2; value: string } | { type: 7; ip: string }> {
  const dns = [name, ...(namespace ? [`${name}.${namespace}`, `${name}.${namespace}.svc`, `${name}.${namespace}.svc.cluster.local`] : []), 'localhost'];
  return [...dns.map((value) => ({ type: 2 as const, value })), ...['127.0.0.1', '::1', ...ips].map((ip) => ({ type: 7 as const, ip }))];
}

/** A name as its bytes in the certificate: `<type>:<hex>`, so "::1" and "0:0:...:1" compare equal. */
function nameKey(type: number, value: string): string {
  return `${type}:${forge.util.bytesToHex(value)}`;
}

/** An IP address as the bytes forge writes into a certificate (node-forge has util.bytesFromIP; its types omit it). */
function ipBytes(ip: string): string {
  return (forge.util as unknown as { bytesFromIP(ip: string): string | null }).bytesFromIP(ip) ?? '';
}

/** Whether `file` holds a certificate `ca` signed for exactly these names (otherwise it is made again). */
function current(file: string, ca: forge.pki.Certificate, names: ReturnType<typeof subjectAltNames>): boolean {
  if (!issuedBy(file, ca)) return false;
  const cert = forge.pki.certificateFromPem(fs.readFileSync(file, 'utf8'));
  const have = ((cert.getExtension('subjectAltName') as { altNames?: Array<{ type: number; value: string }> } | null)?.altNames ?? []).map((n) =>
    nameKey(n.type, n.value),
  );
  const want = names.map((n) => ('ip' in n ? nameKey(7, ipBytes(n.ip)) : nameKey(2, n.value)));
  return JSON.stringify(have.sort()) === JSON.stringify(want.sort());
}

/** Writes a file readable by its owner alone, atomically (a reader never sees half a key). */
function writeSecret(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text, { mode: 0o600 });
  fs.chmodSync(tmp, 0o600);
  fs.renameSync(tmp, file);
}

function newCertificate(publicKey: forge.pki.PublicKey, days: number): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  // Positive, 16 random bytes: unique per certificate.
  cert.serialNumber = '01' + crypto.randomBytes(15).toString('hex');
  const now = new Date();
  cert.validity.notBefore = new Date(now.getTime() - 5 * 60_000); // a little clock skew between hosts
  cert.validity.notAfter = new Date(now.getTime() + days * 86_400_000);
  return cert;
}

function loadOrMakeCa(dir: string): { cert: forge.pki.Certificate; key: forge.pki.rsa.PrivateKey; created: boolean } {
  const certFile = path.join(dir, 'ca.crt');
  const keyFile = path.join(dir, 'ca.key');
  if (fs.existsSync(certFile) && fs.existsSync(keyFile)) {
    return {
      cert: forge.pki.certificateFromPem(fs.readFileSync(certFile, 'utf8')),
      key: forge.pki.privateKeyFromPem(fs.readFileSync(keyFile, 'utf8')) as forge.pki.rsa.PrivateKey,
      created: false,
    };
  }
  const keys = forge.pki.rsa.generateKeyPair({ bits: 2048 });
  const cert = newCertificate(keys.publicKey, CA_DAYS);
  const subject = [{ name: 'commonName', value: 'mgrpc CA' }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  writeSecret(keyFile, forge.pki.privateKeyToPem(keys.privateKey));
  writeSecret(certFile, forge.pki.certificateToPem(cert));
  return { cert, key: keys.privateKey, created: true };
}

/** Whether `file` holds a certificate `ca` signed (a certificate of an earlier CA is re-issued). */
function issuedBy(file: string, ca: forge.pki.Certificate): boolean {
  if (!fs.existsSync(file)) return false;
  try {
    return ca.verify(forge.pki.certificateFromPem(fs.readFileSync(file, 'utf8')));
  } catch {
    return false;
  }
}

/**
 * Makes DIR (0700) with a CA and a certificate per name where they are
 * missing (all of them with `renew`). Returns what it wrote.
 */
export function provisionCerts(dir: string, names: string[], opts: CertOptions = {}): { created: string[]; kept: string[] } {
  for (const n of [...names, ...(opts.passwords ?? [])]) {
    if (!NAME_RE.test(n) || n === 'ca') throw new Error(`certificate name '${n}': expected a DNS label (a-z, 0-9, '-'), not 'ca'`);
  }
  if (opts.namespace !== undefined && !NAME_RE.test(opts.namespace)) throw new Error(`namespace '${opts.namespace}': expected a DNS label`);
  for (const ip of opts.ips ?? []) if (!net.isIP(ip)) throw new Error(`--ip '${ip}': expected an IPv4 or IPv6 address`);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const caDir = opts.caDir ?? dir;
  fs.mkdirSync(caDir, { recursive: true, mode: 0o700 });
  const ca = loadOrMakeCa(caDir);
  if (caDir !== dir) writeSecret(path.join(dir, 'ca.crt'), forge.pki.certificateToPem(ca.cert));
  const created = ca.created ? ['ca'] : [];
  const kept: string[] = ca.created ? [] : ['ca'];
  for (const name of names) {
    const certFile = path.join(dir, `${name}.crt`);
    const altNames = subjectAltNames(name, opts.namespace, opts.ips);
    if (!opts.renew && !ca.created && current(certFile, ca.cert, altNames) && fs.existsSync(path.join(dir, `${name}.key`))) {
      kept.push(name);
      continue;
    }
    const keys = forge.pki.rsa.generateKeyPair({ bits: 2048 });
    const cert = newCertificate(keys.publicKey, opts.days ?? 365);
    cert.setSubject([{ name: 'commonName', value: name }]);
    cert.setIssuer(ca.cert.subject.attributes);
    cert.setExtensions([
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
      { name: 'subjectAltName', altNames },
    ]);
    cert.sign(ca.key, forge.md.sha256.create());
    writeSecret(path.join(dir, `${name}.key`), forge.pki.privateKeyToPem(keys.privateKey));
    writeSecret(certFile, forge.pki.certificateToPem(cert));
    created.push(name);
  }
  for (const user of opts.passwords ?? []) {
    const file = path.join(dir, `${user}.password`);
    if (fs.existsSync(file)) kept.push(`${user}.password`);
    else {
      writeSecret(file, crypto.randomBytes(24).toString('base64url') + '\n');
      created.push(`${user}.password`);
    }
  }
  return { created, kept };
}
