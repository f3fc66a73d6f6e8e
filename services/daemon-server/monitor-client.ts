// The simulated cluster's monitor endpoint (MonitorService, served by
// sim/monitor.ts) as a `Monitors` for the writes: daemon-server hands it the
// monitors' commands it does not answer from cluster-state, authenticated as
// this manager (mgr.<name>), naming the client it acts for.
import { openChannel, makeClient } from '../../lib/client';
import type { CallCredentials } from '../../lib/auth/proof';
import type { TlsOptions } from '../../lib/server';
import type { CommandResult } from '../../lib/gen/ceph/mgr/v1/common';
import { MonitorServiceDefinition } from '../../lib/gen/ceph/mgr/v1/monitor';
import type { MonitorCommand, Monitors } from './domain/monitor/monitors';

export class MonitorServiceClient implements Monitors {
  private readonly channel;
  private readonly client;

  constructor(
    readonly address: string,
    credentials: CallCredentials | null,
    private readonly timeoutMs: number,
    tls?: TlsOptions,
  ) {
    this.channel = openChannel(address, tls);
    this.client = makeClient(MonitorServiceDefinition, this.channel, credentials ? { credentials } : {});
  }

  async command(cmd: MonitorCommand): Promise<CommandResult> {
    const res = await this.client.command(
      { cmd: JSON.stringify({ prefix: cmd.prefix, ...cmd.args }), inbuf: Buffer.from(cmd.inbuf), onBehalfOf: cmd.entity },
      { deadline: this.timeoutMs },
    );
    return res.result ?? { retcode: -5, stdout: '', stderr: 'the monitor endpoint returned no result' };
  }

  close(): void {
    this.channel.close();
  }
}
