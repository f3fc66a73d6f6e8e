// gRPC metadata keys a service and its clients both need to know.

/**
 * A trailer daemon-server sets on every answer to Command and
 * GetCommandDescriptions: a client that gets UNAVAILABLE *with* it heard
 * from daemon-server itself (a standby, or a peer such as its module-host
 * down, named in the message); without it, daemon-server could not be
 * reached at all.
 */
export const ANSWERED_BY_TRAILER = 'x-mgr-answered-by';
