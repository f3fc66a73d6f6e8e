// Get's answer is encoded by hand once per view version (domain/views.ts):
// it must read back through the generated codec, and fill a buffer of its
// own so that it is sent without a copy.
import { GetResponse } from '../../../lib/gen/ceph/mgr/v1/cluster_state';
import { withoutCopy } from '../../../lib/raw-methods';
import { encodeGetResponse } from '../domain/views';

describe('encodeGetResponse', () => {
  it('encodes GetResponse as the generated codec reads it, in a buffer that goes without a copy', () => {
    const json = Buffer.from(JSON.stringify({ epoch: 7, big: 'x'.repeat(300) }));
    for (const epoch of [0, 7, 2 ** 40]) expect(GetResponse.decode(encodeGetResponse(json, epoch))).toEqual({ json, epoch });
    const whole = encodeGetResponse(json, 7);
    expect(Buffer.from(withoutCopy(whole) as unknown as ArrayBuffer).buffer).toBe(whole.buffer);
  });
});
