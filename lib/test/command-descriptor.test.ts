// Ceph command descriptors: parsing and argument validation.
import { parseSignature, validateArgs } from '../command-descriptor';

describe('argument types', () => {
  const v = (cmd: string, args: Record<string, unknown>) => validateArgs(parseSignature(cmd), args);
  it('converts and checks each type', () => {
    expect(v('x name=n,type=CephInt,range=1|10', { n: '7' })).toEqual({ n: 7 });
    expect(() => v('x name=n,type=CephInt,range=1|10', { n: 11 })).toThrow(/11 not in range \[1, 10\]/);
    expect(v('x name=f,type=CephFloat', { f: '0.5' })).toEqual({ f: 0.5 });
    expect(() => v('x name=f,type=CephFloat', { f: 'half' })).toThrow(/doesn't represent a float/);
    expect(v('x name=b,type=CephBool', { b: 'true' })).toEqual({ b: true });
    expect(() => v('x name=b,type=CephBool', { b: 'maybe' })).toThrow(/not one of 'true', 'false'/);
    expect(v('x name=w,type=CephName', { w: 'osd.3' })).toEqual({ w: 'osd.3' });
    expect(() => v('x name=w,type=CephName', { w: 'osd3' })).toThrow(/no \. in osd3/);
    expect(() => v('x name=w,type=CephName', { w: 'car.3' })).toThrow(/unknown type car/);
    expect(v('x name=o,type=CephOsdName', { o: 'osd.4' })).toEqual({ o: 4 });
    expect(v('x name=o,type=CephOsdName', { o: '4' })).toEqual({ o: 4 });
    expect(() => v('x name=o,type=CephOsdName', { o: 'osd.-1' })).toThrow(/less than 0/);
    expect(v('x name=p,type=CephPgid', { p: '1.1f' })).toEqual({ p: '1.1f' });
    expect(() => v('x name=p,type=CephPgid', { p: '1' })).toThrow(/pgid has no \./);
    expect(() => v('x name=p,type=CephPgid', { p: '1.zz' })).toThrow(/not hex integer/);
    expect(v('x name=l,type=CephInt,n=N', { l: ['1', 2] })).toEqual({ l: [1, 2] });
    expect(() => v('x name=s,type=CephString,goodchars=[a-z]', { s: 'a-b' })).toThrow(/invalid characters/);
    expect(() => parseSignature('x name=y,type=CephWhatever')).toThrow(/unknown argument type/);
  });
});

describe('what the CLI adds', () => {
  it("accepts the CLI's own arguments (poll for a polling command such as iostat) and passes on only format", () => {
    const sig = parseSignature('iostat name=width,type=CephInt,req=false name=print_header,type=CephBool,req=false');
    expect(validateArgs(sig, { prefix: 'iostat', poll: true, width: 80, print_header: true, format: 'plain', target: ['mon-mgr', ''] })).toEqual({
      format: 'plain',
      width: 80,
      print_header: true,
    });
    expect(() => validateArgs(sig, { prefix: 'iostat', polling: true })).toThrow('unused arguments: ["polling"]');
  });
});
