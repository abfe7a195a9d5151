import pg from "pg";
import { describe, expect, it } from "vitest";
import { startTestPgCluster } from "./pg-cluster.js";

describe("test harness", () => {
  it("starts, stops and restarts a PostgreSQL cluster of its own", async () => {
    const cluster = await startTestPgCluster();
    try {
      const query = async () => {
        const client = new pg.Client({ connectionString: cluster.url() });
        await client.connect();
        try {
          return (await client.query<{ one: number }>("select 1 as one")).rows[0]?.one;
        } finally {
          await client.end();
        }
      };
      expect(await query()).toBe(1);
      await cluster.stop();
      await expect(query()).rejects.toThrow();
      await cluster.start();
      expect(await query()).toBe(1);
    } finally {
      await cluster.dispose();
    }
  }, 60_000);
});
