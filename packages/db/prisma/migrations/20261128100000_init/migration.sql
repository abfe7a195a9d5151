-- Floodgate initial schema. Written by hand in the shape `prisma migrate diff` produces for
-- prisma/schema.prisma, plus what Prisma cannot express: CHECK constraints, status_rank() and the
-- statement-level counter triggers. Applied by src/migrate.ts here, or by `prisma migrate deploy`.

-- CreateTable
CREATE TABLE "batches" (
    "id" TEXT NOT NULL,
    "queued_count" INTEGER NOT NULL DEFAULT 0,
    "sent_count" INTEGER NOT NULL DEFAULT 0,
    "delivered_count" INTEGER NOT NULL DEFAULT 0,
    "delayed_count" INTEGER NOT NULL DEFAULT 0,
    "failed_count" INTEGER NOT NULL DEFAULT 0,
    "bounced_count" INTEGER NOT NULL DEFAULT 0,
    "complained_count" INTEGER NOT NULL DEFAULT 0,
    "unsubscribed_count" INTEGER NOT NULL DEFAULT 0,
    "unknown_count" INTEGER NOT NULL DEFAULT 0,
    "total_count" INTEGER NOT NULL DEFAULT 0,
    "opened_count" INTEGER NOT NULL DEFAULT 0,
    "clicked_count" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "batches_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "recipients" (
    "id" TEXT NOT NULL,
    "batch_id" TEXT NOT NULL,
    "provider" TEXT NOT NULL,
    "provider_message_id" TEXT NOT NULL,
    "address" TEXT,
    "status" TEXT NOT NULL DEFAULT 'queued',
    "queued_at" TIMESTAMPTZ(3),
    "sent_at" TIMESTAMPTZ(3),
    "delivered_at" TIMESTAMPTZ(3),
    "delayed_at" TIMESTAMPTZ(3),
    "failed_at" TIMESTAMPTZ(3),
    "bounced_at" TIMESTAMPTZ(3),
    "complained_at" TIMESTAMPTZ(3),
    "unsubscribed_at" TIMESTAMPTZ(3),
    "unknown_at" TIMESTAMPTZ(3),
    "opened_at" TIMESTAMPTZ(3),
    "clicked_at" TIMESTAMPTZ(3),
    "status_event_at" TIMESTAMPTZ(3),
    "status_event_id" TEXT,
    "error_code" TEXT,
    "error_message" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "recipients_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "recipients_status_check" CHECK ("status" IN ('queued', 'sent', 'delayed', 'unknown', 'delivered', 'failed', 'bounced', 'unsubscribed', 'complained'))
);

-- CreateTable
CREATE TABLE "applied_events" (
    "provider" TEXT NOT NULL,
    "provider_event_id" TEXT NOT NULL,
    "applied_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "applied_events_pkey" PRIMARY KEY ("provider","provider_event_id")
);

-- CreateTable
CREATE TABLE "parked_events" (
    "provider" TEXT NOT NULL,
    "provider_event_id" TEXT NOT NULL,
    "provider_message_id" TEXT NOT NULL,
    "recipient" TEXT NOT NULL DEFAULT '',
    "type" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "raw_status" TEXT NOT NULL,
    "occurred_at" TIMESTAMPTZ(3) NOT NULL,
    "error_code" TEXT,
    "error_message" TEXT,
    "parked_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "parked_events_pkey" PRIMARY KEY ("provider","provider_event_id"),
    CONSTRAINT "parked_events_status_check" CHECK ("status" IN ('queued', 'sent', 'delivered', 'delayed', 'failed', 'bounced', 'complained', 'unsubscribed', 'unknown', 'opened', 'clicked'))
);

-- CreateIndex
CREATE INDEX "recipients_batch_id_idx" ON "recipients"("batch_id");

-- CreateIndex
CREATE UNIQUE INDEX "recipients_provider_provider_message_id_key" ON "recipients"("provider", "provider_message_id");

-- CreateIndex
CREATE INDEX "applied_events_applied_at_idx" ON "applied_events" USING BRIN ("applied_at");

-- CreateIndex
CREATE INDEX "parked_events_provider_provider_message_id_idx" ON "parked_events"("provider", "provider_message_id");

-- AddForeignKey
ALTER TABLE "recipients" ADD CONSTRAINT "recipients_batch_id_fkey" FOREIGN KEY ("batch_id") REFERENCES "batches"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Precedence of delivery statuses (see README.md). A recipient's status only moves to a strictly
-- higher rank; opened/clicked are engagement events that rank as "delivered".
CREATE FUNCTION "status_rank"("status" TEXT) RETURNS INTEGER
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT CASE "status"
    WHEN 'queued' THEN 0
    WHEN 'sent' THEN 1
    WHEN 'delayed' THEN 2
    WHEN 'unknown' THEN 3
    WHEN 'delivered' THEN 4
    WHEN 'failed' THEN 5
    WHEN 'bounced' THEN 6
    WHEN 'unsubscribed' THEN 7
    WHEN 'complained' THEN 8
    WHEN 'opened' THEN 4
    WHEN 'clicked' THEN 4
  END
$$;

-- Batch counters, kept exact by statement-level triggers with transition tables: one aggregate per
-- statement, whatever the number of rows, batches locked in id order (no deadlocks between
-- concurrent writers), and no batch row touched when no counter changes.
CREATE FUNCTION "recipients_apply_counter_deltas"() RETURNS TRIGGER
LANGUAGE plpgsql
AS $$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    UPDATE "batches" SET "queued_count" = 0, "sent_count" = 0, "delivered_count" = 0, "delayed_count" = 0, "failed_count" = 0, "bounced_count" = 0, "complained_count" = 0, "unsubscribed_count" = 0, "unknown_count" = 0, "total_count" = 0, "opened_count" = 0, "clicked_count" = 0, "updated_at" = now();
    RETURN NULL;
  END IF;

  IF TG_OP = 'INSERT' THEN
    PERFORM 1 FROM "batches" WHERE "id" IN (
      SELECT "d"."batch_id" FROM (
      SELECT "batch_id",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'queued'), 0)::INTEGER AS "queued",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'sent'), 0)::INTEGER AS "sent",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'delivered'), 0)::INTEGER AS "delivered",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'delayed'), 0)::INTEGER AS "delayed",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'failed'), 0)::INTEGER AS "failed",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'bounced'), 0)::INTEGER AS "bounced",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'complained'), 0)::INTEGER AS "complained",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'unsubscribed'), 0)::INTEGER AS "unsubscribed",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'unknown'), 0)::INTEGER AS "unknown",
        SUM("s")::INTEGER AS "total",
        COALESCE(SUM("s") FILTER (WHERE "o"), 0)::INTEGER AS "opened",
        COALESCE(SUM("s") FILTER (WHERE "c"), 0)::INTEGER AS "clicked"
      FROM (
        SELECT "batch_id", "status", "opened_at" IS NOT NULL AS "o", "clicked_at" IS NOT NULL AS "c", 1 AS "s" FROM "new_rows"
      ) AS "x"
      GROUP BY "batch_id"
      ) AS "d" WHERE ("d"."queued", "d"."sent", "d"."delivered", "d"."delayed", "d"."failed", "d"."bounced", "d"."complained", "d"."unsubscribed", "d"."unknown", "d"."total", "d"."opened", "d"."clicked") <> (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    ) ORDER BY "id" FOR NO KEY UPDATE;
    UPDATE "batches" AS "b" SET
      "queued_count" = "b"."queued_count" + "d"."queued",
      "sent_count" = "b"."sent_count" + "d"."sent",
      "delivered_count" = "b"."delivered_count" + "d"."delivered",
      "delayed_count" = "b"."delayed_count" + "d"."delayed",
      "failed_count" = "b"."failed_count" + "d"."failed",
      "bounced_count" = "b"."bounced_count" + "d"."bounced",
      "complained_count" = "b"."complained_count" + "d"."complained",
      "unsubscribed_count" = "b"."unsubscribed_count" + "d"."unsubscribed",
      "unknown_count" = "b"."unknown_count" + "d"."unknown",
      "total_count" = "b"."total_count" + "d"."total",
      "opened_count" = "b"."opened_count" + "d"."opened",
      "clicked_count" = "b"."clicked_count" + "d"."clicked",
      "updated_at" = now()
    FROM (
      SELECT "batch_id",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'queued'), 0)::INTEGER AS "queued",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'sent'), 0)::INTEGER AS "sent",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'delivered'), 0)::INTEGER AS "delivered",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'delayed'), 0)::INTEGER AS "delayed",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'failed'), 0)::INTEGER AS "failed",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'bounced'), 0)::INTEGER AS "bounced",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'complained'), 0)::INTEGER AS "complained",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'unsubscribed'), 0)::INTEGER AS "unsubscribed",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'unknown'), 0)::INTEGER AS "unknown",
        SUM("s")::INTEGER AS "total",
        COALESCE(SUM("s") FILTER (WHERE "o"), 0)::INTEGER AS "opened",
        COALESCE(SUM("s") FILTER (WHERE "c"), 0)::INTEGER AS "clicked"
      FROM (
        SELECT "batch_id", "status", "opened_at" IS NOT NULL AS "o", "clicked_at" IS NOT NULL AS "c", 1 AS "s" FROM "new_rows"
      ) AS "x"
      GROUP BY "batch_id"
    ) AS "d"
    WHERE "b"."id" = "d"."batch_id" AND ("d"."queued", "d"."sent", "d"."delivered", "d"."delayed", "d"."failed", "d"."bounced", "d"."complained", "d"."unsubscribed", "d"."unknown", "d"."total", "d"."opened", "d"."clicked") <> (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  END IF;
  IF TG_OP = 'UPDATE' THEN
    PERFORM 1 FROM "batches" WHERE "id" IN (
      SELECT "d"."batch_id" FROM (
      SELECT "batch_id",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'queued'), 0)::INTEGER AS "queued",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'sent'), 0)::INTEGER AS "sent",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'delivered'), 0)::INTEGER AS "delivered",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'delayed'), 0)::INTEGER AS "delayed",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'failed'), 0)::INTEGER AS "failed",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'bounced'), 0)::INTEGER AS "bounced",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'complained'), 0)::INTEGER AS "complained",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'unsubscribed'), 0)::INTEGER AS "unsubscribed",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'unknown'), 0)::INTEGER AS "unknown",
        SUM("s")::INTEGER AS "total",
        COALESCE(SUM("s") FILTER (WHERE "o"), 0)::INTEGER AS "opened",
        COALESCE(SUM("s") FILTER (WHERE "c"), 0)::INTEGER AS "clicked"
      FROM (
        SELECT "batch_id", "status", "opened_at" IS NOT NULL AS "o", "clicked_at" IS NOT NULL AS "c", 1 AS "s" FROM "new_rows"
        UNION ALL
        SELECT "batch_id", "status", "opened_at" IS NOT NULL AS "o", "clicked_at" IS NOT NULL AS "c", -1 AS "s" FROM "old_rows"
      ) AS "x"
      GROUP BY "batch_id"
      ) AS "d" WHERE ("d"."queued", "d"."sent", "d"."delivered", "d"."delayed", "d"."failed", "d"."bounced", "d"."complained", "d"."unsubscribed", "d"."unknown", "d"."total", "d"."opened", "d"."clicked") <> (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    ) ORDER BY "id" FOR NO KEY UPDATE;
    UPDATE "batches" AS "b" SET
      "queued_count" = "b"."queued_count" + "d"."queued",
      "sent_count" = "b"."sent_count" + "d"."sent",
      "delivered_count" = "b"."delivered_count" + "d"."delivered",
      "delayed_count" = "b"."delayed_count" + "d"."delayed",
      "failed_count" = "b"."failed_count" + "d"."failed",
      "bounced_count" = "b"."bounced_count" + "d"."bounced",
      "complained_count" = "b"."complained_count" + "d"."complained",
      "unsubscribed_count" = "b"."unsubscribed_count" + "d"."unsubscribed",
      "unknown_count" = "b"."unknown_count" + "d"."unknown",
      "total_count" = "b"."total_count" + "d"."total",
      "opened_count" = "b"."opened_count" + "d"."opened",
      "clicked_count" = "b"."clicked_count" + "d"."clicked",
      "updated_at" = now()
    FROM (
      SELECT "batch_id",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'queued'), 0)::INTEGER AS "queued",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'sent'), 0)::INTEGER AS "sent",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'delivered'), 0)::INTEGER AS "delivered",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'delayed'), 0)::INTEGER AS "delayed",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'failed'), 0)::INTEGER AS "failed",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'bounced'), 0)::INTEGER AS "bounced",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'complained'), 0)::INTEGER AS "complained",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'unsubscribed'), 0)::INTEGER AS "unsubscribed",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'unknown'), 0)::INTEGER AS "unknown",
        SUM("s")::INTEGER AS "total",
        COALESCE(SUM("s") FILTER (WHERE "o"), 0)::INTEGER AS "opened",
        COALESCE(SUM("s") FILTER (WHERE "c"), 0)::INTEGER AS "clicked"
      FROM (
        SELECT "batch_id", "status", "opened_at" IS NOT NULL AS "o", "clicked_at" IS NOT NULL AS "c", 1 AS "s" FROM "new_rows"
        UNION ALL
        SELECT "batch_id", "status", "opened_at" IS NOT NULL AS "o", "clicked_at" IS NOT NULL AS "c", -1 AS "s" FROM "old_rows"
      ) AS "x"
      GROUP BY "batch_id"
    ) AS "d"
    WHERE "b"."id" = "d"."batch_id" AND ("d"."queued", "d"."sent", "d"."delivered", "d"."delayed", "d"."failed", "d"."bounced", "d"."complained", "d"."unsubscribed", "d"."unknown", "d"."total", "d"."opened", "d"."clicked") <> (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  END IF;
  IF TG_OP = 'DELETE' THEN
    PERFORM 1 FROM "batches" WHERE "id" IN (
      SELECT "d"."batch_id" FROM (
      SELECT "batch_id",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'queued'), 0)::INTEGER AS "queued",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'sent'), 0)::INTEGER AS "sent",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'delivered'), 0)::INTEGER AS "delivered",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'delayed'), 0)::INTEGER AS "delayed",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'failed'), 0)::INTEGER AS "failed",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'bounced'), 0)::INTEGER AS "bounced",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'complained'), 0)::INTEGER AS "complained",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'unsubscribed'), 0)::INTEGER AS "unsubscribed",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'unknown'), 0)::INTEGER AS "unknown",
        SUM("s")::INTEGER AS "total",
        COALESCE(SUM("s") FILTER (WHERE "o"), 0)::INTEGER AS "opened",
        COALESCE(SUM("s") FILTER (WHERE "c"), 0)::INTEGER AS "clicked"
      FROM (
        SELECT "batch_id", "status", "opened_at" IS NOT NULL AS "o", "clicked_at" IS NOT NULL AS "c", -1 AS "s" FROM "old_rows"
      ) AS "x"
      GROUP BY "batch_id"
      ) AS "d" WHERE ("d"."queued", "d"."sent", "d"."delivered", "d"."delayed", "d"."failed", "d"."bounced", "d"."complained", "d"."unsubscribed", "d"."unknown", "d"."total", "d"."opened", "d"."clicked") <> (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    ) ORDER BY "id" FOR NO KEY UPDATE;
    UPDATE "batches" AS "b" SET
      "queued_count" = "b"."queued_count" + "d"."queued",
      "sent_count" = "b"."sent_count" + "d"."sent",
      "delivered_count" = "b"."delivered_count" + "d"."delivered",
      "delayed_count" = "b"."delayed_count" + "d"."delayed",
      "failed_count" = "b"."failed_count" + "d"."failed",
      "bounced_count" = "b"."bounced_count" + "d"."bounced",
      "complained_count" = "b"."complained_count" + "d"."complained",
      "unsubscribed_count" = "b"."unsubscribed_count" + "d"."unsubscribed",
      "unknown_count" = "b"."unknown_count" + "d"."unknown",
      "total_count" = "b"."total_count" + "d"."total",
      "opened_count" = "b"."opened_count" + "d"."opened",
      "clicked_count" = "b"."clicked_count" + "d"."clicked",
      "updated_at" = now()
    FROM (
      SELECT "batch_id",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'queued'), 0)::INTEGER AS "queued",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'sent'), 0)::INTEGER AS "sent",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'delivered'), 0)::INTEGER AS "delivered",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'delayed'), 0)::INTEGER AS "delayed",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'failed'), 0)::INTEGER AS "failed",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'bounced'), 0)::INTEGER AS "bounced",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'complained'), 0)::INTEGER AS "complained",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'unsubscribed'), 0)::INTEGER AS "unsubscribed",
        COALESCE(SUM("s") FILTER (WHERE "status" = 'unknown'), 0)::INTEGER AS "unknown",
        SUM("s")::INTEGER AS "total",
        COALESCE(SUM("s") FILTER (WHERE "o"), 0)::INTEGER AS "opened",
        COALESCE(SUM("s") FILTER (WHERE "c"), 0)::INTEGER AS "clicked"
      FROM (
        SELECT "batch_id", "status", "opened_at" IS NOT NULL AS "o", "clicked_at" IS NOT NULL AS "c", -1 AS "s" FROM "old_rows"
      ) AS "x"
      GROUP BY "batch_id"
    ) AS "d"
    WHERE "b"."id" = "d"."batch_id" AND ("d"."queued", "d"."sent", "d"."delivered", "d"."delayed", "d"."failed", "d"."bounced", "d"."complained", "d"."unsubscribed", "d"."unknown", "d"."total", "d"."opened", "d"."clicked") <> (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER "recipients_counters_insert" AFTER INSERT ON "recipients"
REFERENCING NEW TABLE AS "new_rows"
FOR EACH STATEMENT EXECUTE FUNCTION "recipients_apply_counter_deltas"();

CREATE TRIGGER "recipients_counters_update" AFTER UPDATE ON "recipients"
REFERENCING OLD TABLE AS "old_rows" NEW TABLE AS "new_rows"
FOR EACH STATEMENT EXECUTE FUNCTION "recipients_apply_counter_deltas"();

CREATE TRIGGER "recipients_counters_delete" AFTER DELETE ON "recipients"
REFERENCING OLD TABLE AS "old_rows"
FOR EACH STATEMENT EXECUTE FUNCTION "recipients_apply_counter_deltas"();

CREATE TRIGGER "recipients_counters_truncate" AFTER TRUNCATE ON "recipients"
FOR EACH STATEMENT EXECUTE FUNCTION "recipients_apply_counter_deltas"();
