// Prisma CLI configuration (Prisma 7). `prisma generate` needs no database; the URL only matters
// for commands that talk to one (`prisma migrate deploy` on a machine that has the schema engine).
import { defineConfig } from "prisma/config";

export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  datasource: {
    url: process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/floodgate",
  },
});
