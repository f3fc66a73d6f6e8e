// ModuleHostService handlers: request checks and status codes; the work is
// in domain/host.ts.
import { ServerError, Status } from 'nice-grpc';
import type { ModuleHostServiceImplementation } from '../../lib/gen/ceph/mgr/v1/module_host';
import { ModuleState } from '../../lib/gen/ceph/mgr/v1/module_host';
import type { ModuleHost } from './domain/host';

const STATES: Record<string, ModuleState> = {
  disabled: ModuleState.MODULE_STATE_DISABLED,
  stopped: ModuleState.MODULE_STATE_STARTING,
  loading: ModuleState.MODULE_STATE_STARTING,
  // loaded on a standby, ready to start
  loaded: ModuleState.MODULE_STATE_STANDBY,
  starting: ModuleState.MODULE_STATE_STARTING,
  running: ModuleState.MODULE_STATE_RUNNING,
  standby: ModuleState.MODULE_STATE_STANDBY,
  failed: ModuleState.MODULE_STATE_FAILED,
  cannot_run: ModuleState.MODULE_STATE_CANNOT_RUN,
};

export function moduleHostHandlers(host: ModuleHost): ModuleHostServiceImplementation {
  return {
    async handleCommand(req, context) {
      if (!req.prefix.trim()) throw new ServerError(Status.INVALID_ARGUMENT, 'prefix is empty');
      let args: Record<string, unknown> = {};
      if (req.args.trim()) {
        try {
          args = JSON.parse(req.args);
        } catch (e) {
          throw new ServerError(Status.INVALID_ARGUMENT, `args is not JSON: ${(e as Error).message}`);
        }
        if (!args || typeof args !== 'object' || Array.isArray(args)) throw new ServerError(Status.INVALID_ARGUMENT, 'args must be a JSON object');
      }
      // The caller's cancellation (daemon-server's deadline, its own caller gone) abandons the command.
      const { result, module } = await host.handleCommand(
        req.prefix.trim(),
        args,
        Buffer.from(req.inbuf).toString('utf8'),
        context.signal,
        req.module || undefined,
      );
      return { result: { retcode: result[0], stdout: result[1], stderr: result[2] }, module };
    },
    async listCommands() {
      return { commands: host.commands() };
    },
    async listModules() {
      return {
        modules: host.modules().map((m) => ({
          info: {
            name: m.name,
            canRun: m.canRun,
            errorString: m.errorString,
            moduleOptions: m.options.map((o) => ({
              name: o.name,
              type: o.type,
              defaultValue: o.default === undefined || o.default === null ? '' : String(o.default),
              hasDefault: o.default !== undefined && o.default !== null,
              min: o.min === undefined ? '' : String(o.min),
              max: o.max === undefined ? '' : String(o.max),
              enumAllowed: o.enum_allowed ?? [],
              desc: o.desc ?? '',
              longDesc: o.long_desc ?? '',
              runtime: !!o.runtime,
            })),
          },
          state: STATES[m.state] ?? ModuleState.MODULE_STATE_UNSPECIFIED,
          alwaysOn: m.alwaysOn,
          enabled: m.enabled,
          path: m.path,
          runtime: m.runtime,
        })),
        services: host.getServices(),
        loaded: host.settled(),
      };
    },
    async getHealthChecks() {
      return { checks: host.healthChecks() };
    },
  };
}
