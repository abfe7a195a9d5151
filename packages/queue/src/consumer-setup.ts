import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiError,
  type ConsumerConfig,
  type ConsumerInfo,
  type JetStreamManager,
} from "@nats-io/jetstream";
import { nanos } from "@nats-io/nats-core";
import type { QueueConfig } from "./config.js";

const CONSUMER_ALREADY_EXISTS = 10148;

/** The durable pull consumer config shared by all workers. */
export function consumerConfigFor(cfg: QueueConfig): Partial<ConsumerConfig> & { durable_name: string } {
  return {
    durable_name: cfg.consumer,
    // Both are mandatory on a workqueue stream (10098/10084, 10101) and fixed after creation.
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(cfg.ackWaitMs),
    max_deliver: cfg.maxDeliver,
    max_ack_pending: cfg.maxAckPending,
  };
}

/**
 * Creates the durable worker consumer or updates it to `cfg`. Portable across servers: 2.9
 * ignores the create action and updates in place, 2.10+ answers 10148 "consumer already
 * exists" and we then update explicitly.
 */
export async function ensureConsumer(jsm: JetStreamManager, cfg: QueueConfig): Promise<ConsumerInfo> {
  const want = consumerConfigFor(cfg);
  try {
    return await jsm.consumers.add(cfg.stream, want);
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === CONSUMER_ALREADY_EXISTS) {
      const { durable_name: _name, ack_policy: _ack, deliver_policy: _deliver, ...changes } = want;
      return await jsm.consumers.update(cfg.stream, cfg.consumer, changes);
    }
    throw err;
  }
}
