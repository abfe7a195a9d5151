import { connect, type ConnectionOptions, type NatsConnection, type Status } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { silentLogger, type QueueLogger } from "./logger.js";

/** Options of {@link connectQueue}. */
export interface ConnectQueueOptions {
  /** One or more `host:port` URLs; give every cluster node. */
  servers: string | string[];
  /** Connection name shown in the server's /connz and logs, e.g. "floodgate-gateway". */
  name: string;
  log?: QueueLogger;
  /** Per-request timeout of the JetStream API (stream/consumer management), ms. Default 5000. */
  apiTimeoutMs?: number;
  /** Escape hatch for other nats.js connection options (auth, TLS, tuning). Applied last. */
  connectionOptions?: Partial<ConnectionOptions>;
}

/** A live NATS connection with JetStream handles and a cheap connected flag. */
export interface QueueConnection {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  /** False between a disconnect and the next reconnect, and after close. */
  isConnected(): boolean;
  /** Flushes pending acks/publishes, unsubscribes, then closes. Use on graceful shutdown. */
  drain(): Promise<void>;
  /** Closes immediately. */
  close(): Promise<void>;
  /** Resolves when the connection is closed for good, with the error if it failed. */
  closed(): Promise<void | Error>;
}

/** Something whose connectedness a publisher can ask about without a round trip. */
export interface ConnectionState {
  isConnected(): boolean;
}

/**
 * Tracks connectedness from the status stream of `nc` and logs each status change.
 * nats.js has no public "connected" flag, and checking before a publish is what lets a caller
 * fail fast instead of waiting out a timeout while the client buffers for a reconnect.
 */
export function watchConnection(nc: NatsConnection, log: QueueLogger = silentLogger): ConnectionState {
  let connected = !nc.isClosed();
  void (async () => {
    for await (const s of nc.status()) {
      switch (s.type) {
        case "disconnect":
          connected = false;
          log.warn({ nats: s.type, server: s.server }, "nats disconnected");
          break;
        case "reconnect":
          connected = true;
          log.info({ nats: s.type, server: s.server }, "nats reconnected");
          break;
        case "close":
          connected = false;
          log.info({ nats: s.type }, "nats connection closed");
          break;
        default:
          logStatus(log, s);
      }
    }
  })();
  return { isConnected: () => connected && !nc.isClosed() };
}

function logStatus(log: QueueLogger, s: Status): void {
  switch (s.type) {
    case "ldm":
      log.warn({ nats: s.type, server: s.server }, "nats server entering lame duck mode");
      break;
    case "error":
      log.error({ nats: s.type, err: s.error }, "nats connection error");
      break;
    case "staleConnection":
    case "slowConsumer":
      log.warn({ nats: s.type }, `nats ${s.type}`);
      break;
    case "update":
    case "forceReconnect":
      log.info({ nats: s.type }, `nats ${s.type}`);
      break;
    // "reconnecting" fires on every attempt and "ping" on every unanswered ping: during an
    // outage that would be a log line every couple of seconds, and "disconnect" already said it.
    default:
      break;
  }
}

/**
 * Connects to NATS for the lifetime of the process: retries forever, including when no server
 * is up at boot (`waitOnFirstConnect`), so this promise only settles once connected (or on a
 * non-retryable error such as bad credentials). Also verifies JetStream is enabled.
 */
export async function connectQueue(options: ConnectQueueOptions): Promise<QueueConnection> {
  const log = options.log ?? silentLogger;
  const timeout = options.apiTimeoutMs ?? 5_000;
  const nc = await connect({
    servers: options.servers,
    name: options.name,
    reconnect: true,
    maxReconnectAttempts: -1,
    waitOnFirstConnect: true,
    reconnectTimeWait: 2_000,
    reconnectJitter: 500,
    // Default 2 min: far too long to notice a dead TCP peer behind a load balancer.
    pingInterval: 20_000,
    maxPingOut: 3,
    timeout,
    ...options.connectionOptions,
  });
  log.info({ nats: "connect", server: nc.getServer(), name: options.name }, "nats connected");
  const state = watchConnection(nc, log);
  void nc.closed().then((err) => {
    if (err) log.error({ err }, "nats connection closed with error");
  });
  let jsm: JetStreamManager;
  try {
    jsm = await jetstreamManager(nc, { timeout });
  } catch (err) {
    await nc.close();
    throw err;
  }
  return {
    nc,
    js: jetstream(nc, { timeout }),
    jsm,
    isConnected: state.isConnected,
    drain: () => nc.drain(),
    close: () => nc.close(),
    closed: () => nc.closed(),
  };
}
