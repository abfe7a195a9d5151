import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyEvents } from "./apply-events.js";
import { createDb, type Db } from "./db.js";
import { createPrismaClient, type PrismaClient } from "./prisma.js";
import { createTestDatabase, makeEvent, type TestDatabase } from "./testing/index.js";

let database: TestDatabase;
let prisma: PrismaClient;
let db: Db;

beforeAll(async () => {
  database = await createTestDatabase();
  prisma = createPrismaClient(database.url);
  db = createDb({ databaseUrl: database.url });
});
afterAll(async () => {
  await prisma?.$disconnect();
  await db?.close();
  await database?.drop();
});

describe("the typed Prisma client", () => {
  it("agrees with the migrated tables: creates through Prisma, reads what the batch-apply SQL wrote", async () => {
    await prisma.batch.create({ data: { id: "p-batch" } });
    await prisma.recipient.create({ data: { id: "p-r1", batchId: "p-batch", provider: "telnyx", providerMessageId: "p-m1" } });
    await applyEvents(db, [makeEvent({ provider: "telnyx", providerEventId: "p-e1", providerMessageId: "p-m1", status: "delivered", recipient: "+15555550100" })]);
    const recipient = await prisma.recipient.findUniqueOrThrow({ where: { id: "p-r1" } });
    expect(recipient).toMatchObject({ status: "delivered", address: "+15555550100" });
    expect(recipient.deliveredAt).toBeInstanceOf(Date);
    const batch = await prisma.batch.findUniqueOrThrow({ where: { id: "p-batch" } });
    expect(batch).toMatchObject({ totalCount: 1, deliveredCount: 1, queuedCount: 0 });
    expect(await prisma.appliedEvent.count()).toBe(1);
  });
});
