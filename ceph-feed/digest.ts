// MMgrDigest (0x705): what the monitors send every mon_mgr_digest_period
// (5 s) to whoever subscribes to "mgrdigest": the monitors' mon_status and
// health, as JSON texts. It is where ceph-mgr gets the mon_status and health
// it hands its modules (src/messages/MMgrDigest.h: two bufferlists).
import { Decoder } from '../lib/ceph/encoding';
import { MsgType, type Message } from '../lib/ceph/message';

export interface MgrDigest {
  monStatus: unknown;
  health: unknown;
}

/** Decodes an MMgrDigest; throws on anything else or on JSON that does not parse. */
export function decodeMgrDigest(m: Message): MgrDigest {
  if (m.type !== MsgType.MGR_DIGEST) throw new Error(`not an MMgrDigest: message type 0x${m.type.toString(16)}`);
  const d = new Decoder(m.front);
  const monStatus = d.blob().toString('utf8');
  const health = d.blob().toString('utf8');
  try {
    return { monStatus: JSON.parse(monStatus), health: JSON.parse(health) };
  } catch (e) {
    throw new Error(`MMgrDigest carries JSON that does not parse: ${(e as Error).message}`, { cause: e });
  }
}
