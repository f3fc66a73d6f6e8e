// Outgoing gRPC channels: plain or TLS (with a client certificate for mTLS),
// with generous message limits for large maps.
import * as fs from 'fs';
import { ChannelCredentials, createChannel, Channel, createClientFactory, Client, CompatServiceDefinition } from 'nice-grpc';
import type { TlsOptions } from './server';

export function channelCredentials(tls?: TlsOptions): ChannelCredentials {
  if (!tls?.ca && !tls?.cert) return ChannelCredentials.createInsecure();
  const ca = tls.ca ? fs.readFileSync(tls.ca) : null;
  const key = tls.key && tls.cert ? fs.readFileSync(tls.key) : null;
  const cert = tls.key && tls.cert ? fs.readFileSync(tls.cert) : null;
  return ChannelCredentials.createSsl(ca, key, cert);
}

export function openChannel(address: string, tls?: TlsOptions): Channel {
  return createChannel(address, channelCredentials(tls), {
    'grpc.max_receive_message_length': -1,
    'grpc.max_send_message_length': -1,
    'grpc.keepalive_time_ms': 10000,
    'grpc.keepalive_timeout_ms': 5000,
    'grpc.initial_reconnect_backoff_ms': 200,
    'grpc.max_reconnect_backoff_ms': 2000,
  });
}

export function makeClient<D extends CompatServiceDefinition>(definition: D, channel: Channel): Client<D> {
  return createClientFactory().create(definition, channel);
}

/** Reads TLS settings from the environment (see the README's TLS section). */
export function tlsFromEnv(env: NodeJS.ProcessEnv = process.env): TlsOptions | undefined {
  if (!env.MGR_TLS_CA && !env.MGR_TLS_CERT) return undefined;
  return {
    ca: env.MGR_TLS_CA || undefined,
    cert: env.MGR_TLS_CERT || undefined,
    key: env.MGR_TLS_KEY || undefined,
    clientAuth: env.MGR_TLS_CLIENT_AUTH === 'true',
  };
}
