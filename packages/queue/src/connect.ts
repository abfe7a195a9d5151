import { connect, type ConnectionOptions, type NatsConnection, type Status } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { errors } from "@nats-io/nats-core";
import { QueueConfigError, QueueUnavailableError } from "./errors.js";
import { silentLogger, type QueueLogger } from "./logger.js";
import { serverProfile, type ServerProfile } from "./server-version.js";

/** Options of {@link connectQueue}. */
export interface ConnectQueueOptions {
  /** One or more `host:port` URLs (an array, or comma-separated); give every cluster node. */
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
  /**
   * What the server this connection is on can do, from the version it announced (read at each
   * access: after a reconnect it describes the server reconnected to).
   */
  readonly server: ServerProfile;
  /** False between a disconnect and the next reconnect, and after close. */
  isConnected(): boolean;
  /** Flushes pending acks/publishes, unsubscribes, then closes. Use on graceful shutdown. */
  drain(): Promise<void>;
  /** Closes immediately. */
  close(): Promise<void>;
  /** Resolves when the connection is closed for good, with the error if it failed. */
  closed(): Promise<void | Error>;
  /**
   * Drops the connection to the current server and reconnects to another of the list (for a
   * server that holds the connection open but answers nothing: a hung node).
   */
  switchServer(reason: string): void;
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

/** Options of {@link createQueueConnector}. */
export interface QueueConnectorOptions extends ConnectQueueOptions {
  /**
   * Runs once connected, before `ready` resolves: create streams, read server limits. Retried
   * every `retryMs` while it fails; a {@link QueueConfigError} (a config the server refuses)
   * is fatal and rejects `ready`.
   */
  setup?: (queue: QueueConnection) => Promise<void>;
  /** While NATS is not reachable, "waiting for NATS" is logged this often, ms (default 10 000). */
  waitLogIntervalMs?: number;
  /** Pause between connection (or setup) attempts, ms (default 2000). */
  retryMs?: number;
}

/** `connecting` until connected and set up, then `ready`; `failed` after a fatal error; `closed`. */
export type QueueConnectorState = "connecting" | "ready" | "failed" | "closed";

/**
 * A NATS connection established in the background, so a process can serve (health, readiness,
 * 503s) while NATS is unreachable instead of hanging before it listens.
 */
export interface QueueConnector {
  /**
   * Resolves with the connection once connected and set up. Rejects only on a fatal error
   * (bad credentials, a stream config the server refuses) or when closed before ready.
   */
  readonly ready: Promise<QueueConnection>;
  readonly state: QueueConnectorState;
  /** The connection once ready, else undefined. */
  readonly connection: QueueConnection | undefined;
  /** Ready and connected right now (false while waiting, and during a later outage). */
  isConnected(): boolean;
  /** For readiness checks: why the connector is not connected (the last error), or undefined. */
  readonly waitingFor: string | undefined;
  /** Stops trying (before ready), or drains the connection (after). */
  close(): Promise<void>;
}

const FATAL_CONNECT_ERRORS: readonly (abstract new (...args: never[]) => Error)[] = [errors.AuthorizationError, errors.UserAuthenticationExpiredError];

function describeError(err: unknown): string {
  return err instanceof Error ? err.message || err.name : String(err);
}

/** How long a server left by switchServer() is dialled only when every other was left too. */
const LEFT_SERVER_AVOID_MS = 60_000;

/**
 * The server to dial next: nats.js's pick, unless switchServer() left it lately; then, of the
 * servers not left lately, the one tried longest ago (a dead one was just tried and refused), or
 * else the one left longest ago.
 */
export function pickServer<S extends { listen: string; lastConnect: number }>(pool: readonly S[], left: ReadonlyMap<string, number>, now = Date.now()): S | null {
  const leftAt = (s: S) => {
    const at = left.get(s.listen);
    return at !== undefined && now - at < LEFT_SERVER_AVOID_MS ? at : undefined;
  };
  if (pool.length === 0 || leftAt(pool[0]!) === undefined) return null;
  const fresh = pool.filter((s) => leftAt(s) === undefined);
  if (fresh.length > 0) return fresh.reduce((best, s) => (s.lastConnect < best.lastConnect ? s : best));
  return pool.reduce((best, s) => (leftAt(s)! < leftAt(best)! ? s : best));
}

/** One connection attempt: each server tried once; JetStream checked. Rejects when none answers. */
async function openQueueConnection(options: ConnectQueueOptions, log: QueueLogger): Promise<QueueConnection> {
  const timeout = options.apiTimeoutMs ?? 5_000;
  // Servers switchServer() left, and when: reconnects prefer the others, and among those left the
  // one left longest ago. (By default nats.js dials the server it just left first, and a hung one
  // accepts the TCP connection, then holds the dial for the whole connect timeout.)
  const left = new Map<string, number>();
  const nc = await connect({
    servers: options.servers,
    name: options.name,
    reconnect: true,
    // Once connected, the client reconnects by itself, forever. The first connection is retried
    // by the connector instead of by `waitOnFirstConnect`, which cannot be observed or cancelled.
    maxReconnectAttempts: -1,
    waitOnFirstConnect: false,
    reconnectTimeWait: 2_000,
    reconnectJitter: 500,
    // Default 2 min: far too long to notice a dead TCP peer behind a load balancer.
    pingInterval: 20_000,
    maxPingOut: 3,
    timeout,
    reconnectToServer: (pool) => pickServer(pool, left),
    // Otherwise every request (each JetStream publish) allocates an Error to keep the caller's
    // stack for a timeout that almost never comes: ~2 % of the gateway's CPU in a profile.
    noAsyncTraces: true,
    ...options.connectionOptions,
  });
  let jsm: JetStreamManager;
  try {
    jsm = await jetstreamManager(nc, { timeout });
  } catch (err) {
    await nc.close();
    throw err;
  }
  log.info({ nats: "connect", server: nc.getServer(), version: nc.info?.version, name: options.name }, "nats connected");
  const state = watchConnection(nc, log);
  void nc.closed().then((err) => {
    if (err) log.error({ err }, "nats connection closed with error");
  });
  return {
    nc,
    js: jetstream(nc, { timeout }),
    jsm,
    get server() {
      return serverProfile(nc.info?.version);
    },
    isConnected: state.isConnected,
    drain: () => nc.drain(),
    close: () => nc.close(),
    closed: () => nc.closed(),
    switchServer(reason) {
      if (nc.isClosed() || nc.isDraining()) return;
      const server = nc.getServer();
      left.set(server, Date.now());
      log.warn({ nats: "switchServer", server, reason }, `leaving NATS server ${server}: ${reason}`);
      nc.reconnect().catch(() => undefined);
    },
  };
}

/**
 * Starts connecting to NATS in the background and returns at once. Until NATS answers (and
 * `setup` succeeded) it retries every `retryMs` and logs "waiting for NATS", naming the servers,
 * every `waitLogIntervalMs`; the same line repeats during any later outage, so a process that
 * cannot reach NATS always says so. Once connected, the client reconnects by itself forever.
 */
export function createQueueConnector(options: QueueConnectorOptions): QueueConnector {
  const log = options.log ?? silentLogger;
  // nats.js takes a string as one server: "a,b" would be a single, unparseable URL.
  const servers = (Array.isArray(options.servers) ? options.servers : options.servers.split(",")).map((s) => s.trim()).filter(Boolean);
  const retryMs = options.retryMs ?? 2_000;
  const since = Date.now();
  let state: QueueConnectorState = "connecting";
  let connection: QueueConnection | undefined;
  let lastError: string | undefined;
  let attempts = 0;
  let wake: (() => void) | undefined;
  let resolveReady!: (q: QueueConnection) => void;
  let rejectReady!: (err: unknown) => void;
  const ready = new Promise<QueueConnection>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  // A caller that never awaits `ready` must not crash the process with an unhandled rejection.
  ready.catch(() => undefined);

  const logWaiting = () =>
    log.warn(
      { nats: "waiting", servers, waitingSeconds: Math.round((Date.now() - since) / 1000), attempts, state, lastError },
      `waiting for NATS at ${servers.join(", ")}`,
    );
  const waitTimer = setInterval(() => {
    if (state === "connecting" || (state === "ready" && !connection?.isConnected())) logWaiting();
  }, options.waitLogIntervalMs ?? 10_000);
  waitTimer.unref();

  const pause = () =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, retryMs);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  function fail(err: unknown): void {
    state = "failed";
    lastError = describeError(err);
    clearInterval(waitTimer);
    log.error({ nats: "failed", servers, err }, `cannot use NATS: ${lastError}`);
    rejectReady(err);
  }

  async function connectOnce(): Promise<QueueConnection | undefined> {
    try {
      return await openQueueConnection({ ...options, servers }, log);
    } catch (err) {
      if (FATAL_CONNECT_ERRORS.some((E) => err instanceof E)) throw err;
      attempts++;
      lastError = describeError(err);
      if (attempts === 1) logWaiting();
      return undefined;
    }
  }

  async function setUp(queue: QueueConnection): Promise<boolean> {
    try {
      await options.setup?.(queue);
      return true;
    } catch (err) {
      if (err instanceof QueueConfigError) throw err;
      lastError = `setup: ${describeError(err)}`;
      log.warn({ nats: "setup", err }, "NATS connected but setup failed; retrying");
      return false;
    }
  }

  async function run(): Promise<void> {
    let queue: QueueConnection | undefined;
    try {
      while (!queue && state === "connecting") {
        queue = await connectOnce();
        if (!queue) await pause();
      }
      while (queue && state === "connecting" && !(await setUp(queue))) await pause();
    } catch (err) {
      if (state === "connecting") fail(err);
    }
    if (!queue) return;
    if (state !== "connecting") {
      await queue.close();
      return;
    }
    connection = queue;
    state = "ready";
    lastError = undefined;
    void queue.closed().then(() => {
      clearInterval(waitTimer);
      state = "closed";
    });
    resolveReady(queue);
  }
  void run();

  return {
    ready,
    get state() {
      return state;
    },
    get connection() {
      return connection;
    },
    isConnected: () => state === "ready" && connection !== undefined && connection.isConnected(),
    get waitingFor() {
      if (state === "ready") return connection?.isConnected() ? undefined : "NATS disconnected; reconnecting";
      return `${state === "failed" ? "failed" : "waiting for NATS"} at ${servers.join(", ")}${lastError ? ` (${lastError})` : ""}`;
    },
    async close() {
      clearInterval(waitTimer);
      const was = state;
      state = "closed";
      if (was === "ready" && connection) {
        await connection.drain();
        return;
      }
      wake?.();
      if (was === "connecting") rejectReady(new QueueUnavailableError("closed", "closed before NATS was reached"));
    },
  };
}

/**
 * Connects to NATS for the lifetime of the process: retries forever, including when no server
 * is up at boot (logging "waiting for NATS" while it waits), so this promise only settles once
 * connected (or on a non-retryable error such as bad credentials). Also verifies JetStream is
 * enabled. A process that must serve while it waits uses {@link createQueueConnector}.
 */
export function connectQueue(options: QueueConnectorOptions): Promise<QueueConnection> {
  return createQueueConnector(options).ready;
}
