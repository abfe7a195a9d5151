#!/usr/bin/env node
// `pnpm --filter @floodgate/db migrate`: creates the database named by DATABASE_URL if needed and
// applies the committed Prisma migrations (see README.md for why not `prisma migrate deploy`).
import { DEFAULT_DATABASE_URL } from "../db.js";
import { migrate } from "../migrate.js";

const databaseUrl = process.env.DATABASE_URL || DEFAULT_DATABASE_URL;
const safeUrl = databaseUrl.replace(/\/\/([^:@/]*):[^@/]*@/, "//$1:***@");

try {
  const result = await migrate({ databaseUrl, log: (line) => console.log(line) });
  console.log(
    `${safeUrl}: ${result.applied.length} migration(s) applied, ${result.alreadyApplied.length} already applied` +
      (result.unknownInDatabase.length ? `; applied in the database but not here: ${result.unknownInDatabase.join(", ")}` : ""),
  );
} catch (err) {
  console.error(`${safeUrl}: migration failed`);
  console.error(err);
  process.exitCode = 1;
}
