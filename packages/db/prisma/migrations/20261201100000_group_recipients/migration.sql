-- Group messages, batch renames, parked-event bookkeeping. Written by hand (see the init
-- migration); what Prisma cannot express is marked. Runs in one transaction (src/migrate.ts).
--
-- 1. recipients is keyed by (provider, provider_message_id, floodgate_address_key(address)):
--    a Telnyx group MMS or an e-mail to several addresses has one provider message id and one
--    row per recipient. The key is an expression index over the address as the sending side
--    stored it: existing rows are not rewritten, and the old key (provider, provider_message_id)
--    is a prefix of the new one, so every existing row satisfies it.
-- 2. batches.id can no longer be renamed under its recipients (ON UPDATE RESTRICT): the cascaded
--    update of recipients.batch_id fired the counter trigger and doubled the renamed counters.
-- 3. recipients.insert_xid and parked_events.park_xid record the inserting transaction, so the
--    parked-event re-match only looks at what arrived since its last look (src/parked.ts).
--    Existing rows keep NULL there (adding a column with a volatile default would rewrite the
--    table); each worker's first re-match after start scans everything once and covers them.
-- 4. parked_events.parked_at gets an index, for expiry by age.

-- The canonical spelling of a recipient address, used to key recipients and to match events to
-- them (README.md, "How events find their recipient"). Exactly:
--   NULL, or only whitespace                   → '' (no address)
--   contains '@' (e-mail)                      → trimmed; 'Name <addr>' → addr; A-Z lower-cased
--   only digits after removing spaces, tabs    → '+' followed by the digits (an optional single
--   and - . ( ) /, with an optional leading +     leading '+' is kept, a missing one added)
--   anything else                              → trimmed, A-Z lower-cased
-- Lower-casing is ASCII-only on purpose: the result does not depend on the database's locale.
-- Prisma cannot express functions or expression indexes.
CREATE FUNCTION "floodgate_address_key"("address" TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT CASE
    WHEN "address" IS NULL THEN ''
    WHEN strpos("address", '@') > 0 THEN translate(
      btrim(COALESCE(substring("address" FROM '<([^<>]*)>[[:space:]]*$'), "address"), E' \t\n\r\f\v'),
      'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')
    WHEN translate("address", E' \t\n\r\f\v-.()/', '') ~ '^\+?[0-9]+$'
      THEN '+' || ltrim(translate("address", E' \t\n\r\f\v-.()/', ''), '+')
    ELSE translate(btrim("address", E' \t\n\r\f\v'), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')
  END
$$;

-- DropIndex
DROP INDEX "recipients_provider_provider_message_id_key";

-- CreateIndex (expression index: not expressible in schema.prisma)
CREATE UNIQUE INDEX "recipients_provider_provider_message_id_address_key"
    ON "recipients"("provider", "provider_message_id", "floodgate_address_key"("address"));

-- DropForeignKey
ALTER TABLE "recipients" DROP CONSTRAINT "recipients_batch_id_fkey";

-- AddForeignKey
ALTER TABLE "recipients" ADD CONSTRAINT "recipients_batch_id_fkey" FOREIGN KEY ("batch_id") REFERENCES "batches"("id") ON DELETE RESTRICT ON UPDATE RESTRICT;

-- AlterTable
ALTER TABLE "recipients" ADD COLUMN "insert_xid" xid8;
ALTER TABLE "recipients" ALTER COLUMN "insert_xid" SET DEFAULT pg_current_xact_id();

-- AlterTable
ALTER TABLE "parked_events" ADD COLUMN "park_xid" xid8;
ALTER TABLE "parked_events" ALTER COLUMN "park_xid" SET DEFAULT pg_current_xact_id();

-- CreateIndex (partial: rows from before this migration have none; not expressible in schema.prisma)
CREATE INDEX "recipients_insert_xid_idx" ON "recipients"("insert_xid") WHERE "insert_xid" IS NOT NULL;

-- CreateIndex (partial, as above)
CREATE INDEX "parked_events_park_xid_idx" ON "parked_events"("park_xid") WHERE "park_xid" IS NOT NULL;

-- CreateIndex
CREATE INDEX "parked_events_parked_at_idx" ON "parked_events"("parked_at");
