// hello: the seed's example module, in the form of Ceph's own hello module.
//   mgrctl hello            -> Hello World
//   mgrctl hello Alice      -> Hello Alice
//   mgrctl hello count 3    -> 1 2 3 (one per line); outside 1..10 is -22
// The `place` option (default "World") is who `hello` greets by default.
import { CommandResult, MgrModule } from '../../lib/mgr-module';

export default class Hello extends MgrModule {
  static override COMMANDS = [
    { cmd: 'hello name=person_name,type=CephString,req=false', desc: 'Say hello', perm: 'r' },
    { cmd: 'hello count name=num,type=CephInt,range=1|10', desc: 'Count from 1 to num (1..10)', perm: 'r' },
  ];
  static override MODULE_OPTIONS = [{ name: 'place', type: 'str' as const, default: 'World', desc: 'who `hello` greets when no name is given', runtime: true }];

  override async handleCommand(_inbuf: string, cmd: Record<string, unknown>): Promise<CommandResult> {
    if (cmd.prefix === 'hello count') {
      const num = Number(cmd.num);
      if (!Number.isInteger(num) || num < 1 || num > 10) return [-22, '', `num must be a whole number from 1 to 10, got ${JSON.stringify(cmd.num)}`];
      return [0, Array.from({ length: num }, (_, i) => String(i + 1)).join('\n'), ''];
    }
    const name = typeof cmd.person_name === 'string' && cmd.person_name ? cmd.person_name : await this.getModuleOption<string>('place');
    this.log.info(`greeting ${name}`);
    return [0, `Hello ${name}`, ''];
  }

  override async selfTest(): Promise<string> {
    const [r, out] = await this.handleCommand('', { prefix: 'hello' });
    if (r !== 0 || !out.startsWith('Hello ')) throw new Error(`hello answered ${r} ${out}`);
    return 'hello: ok';
  }
}
