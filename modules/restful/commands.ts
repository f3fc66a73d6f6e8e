// How restful runs one command of a request. Ceph's restful sends every
// command with send_command('mon', ...); here they all go with sendCommand,
// through daemon-server's command path as this manager's entity mgr.<name>
// (argument validation, caps, audit naming restful): the monitors' commands
// (osd pool create, osd out, config set, osd dump, ...), the manager's own
// (pg stat, osd scrub, ...) and every enabled module's. restful's own
// commands (restful list-keys, ...) run here, without a round trip.
import { EINVAL, EIO, type MgrModule } from '../../lib/mgr-module';
import type { Command, Outcome } from './requests';

/** Runs one command; never throws (a failure is a Ceph return code with a message). */
export async function runCommand(m: MgrModule, cmd: Command, own: (cmd: Command) => Promise<Outcome> | null): Promise<Outcome> {
  const prefix = typeof cmd.prefix === 'string' ? cmd.prefix.trim() : '';
  if (!prefix) return [EINVAL, '', 'a command needs a "prefix"'];
  try {
    const mine = own({ ...cmd, prefix });
    if (mine) return await mine;
    const inbuf = typeof cmd.inbuf === 'string' ? cmd.inbuf : '';
    const args: Command = { ...cmd };
    delete args.prefix;
    delete args.inbuf;
    return await m.sendCommand(prefix, args, inbuf);
  } catch (e) {
    return [EIO, '', `${prefix}: ${(e as Error).message}`];
  }
}
