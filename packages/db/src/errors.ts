/** Base class of every error thrown by `@floodgate/db`. */
export class DbError extends Error {
  override name = "DbError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** An applied migration's migration.sql no longer matches the checksum recorded when it ran. */
export class MigrationChecksumMismatchError extends DbError {
  override name = "MigrationChecksumMismatchError";
  constructor(
    readonly migrationName: string,
    readonly recordedChecksum: string,
    readonly fileChecksum: string,
  ) {
    super(
      `Migration ${migrationName} was edited after it was applied: the database recorded checksum ` +
        `${recordedChecksum}, the file now hashes to ${fileChecksum}. Restore the original file and ` +
        `put the change in a new migration.`,
    );
  }
}

/** A migration failed earlier (recorded by Prisma with no finished_at) and needs resolving by hand. */
export class MigrationFailedBeforeError extends DbError {
  override name = "MigrationFailedBeforeError";
  constructor(readonly migrationName: string) {
    super(
      `Migration ${migrationName} is recorded as started but not finished in _prisma_migrations. ` +
        `Fix the database, then mark it with \`prisma migrate resolve\` (or delete that row) and retry.`,
    );
  }
}

/** A migration's SQL failed; its transaction was rolled back and nothing of it was recorded. */
export class MigrationFailedError extends DbError {
  override name = "MigrationFailedError";
  constructor(
    readonly migrationName: string,
    options?: { cause?: unknown },
  ) {
    super(`Migration ${migrationName} failed and was rolled back: ${String((options?.cause as Error | undefined)?.message ?? options?.cause)}`, options);
  }
}

/** The migrations folder is missing, malformed or locked to another provider. */
export class MigrationsDirectoryError extends DbError {
  override name = "MigrationsDirectoryError";
}
