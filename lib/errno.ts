// Ceph's return codes: negative Linux errno values, as in a command's
// retcode (ceph_argparse, MgrCommands, send_command). The one list; the
// module SDK re-exports it for modules.
export const EPERM = -1;
export const ENOENT = -2;
export const EIO = -5;
export const EAGAIN = -11;
export const EACCES = -13;
export const EBUSY = -16;
export const EEXIST = -17;
export const EINVAL = -22;
export const ERANGE = -34;
export const EFBIG = -27;
export const EOPNOTSUPP = -95;
export const ENOTCONN = -107;
export const ETIMEDOUT = -110;
