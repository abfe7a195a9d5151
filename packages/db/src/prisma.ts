import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "../generated/prisma/client.js";

export { PrismaClient };
export type * from "../generated/prisma/models.js";
export type { Batch, Recipient, AppliedEvent, ParkedEvent } from "../generated/prisma/client.js";

/**
 * A typed Prisma client over the `pg` driver adapter, for everything off the hot path (reads,
 * admin, tests). The batch-apply statements use {@link createDb}'s pool directly.
 */
export function createPrismaClient(databaseUrl: string): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl }) });
}
