import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * Webhooks (usecases/deliverWebhook.ts, docs/webhooks.md):
 * - `images.callback_url`: where this image's webhooks go, resolved at `POST /upload` (the upload's
 *   `callback_url`, else the stage-wide `IMGPIPE_WEBHOOK_URL`); null: no webhooks.
 * - `webhook_deliveries`, an outbox: one row per event. A trigger on `images` inserts it in the
 *   same transaction as the status change to `ready`, `failed` or `expired`, so no terminal
 *   transition, whichever statement makes it, can commit without its webhook.
 *   The row is also the embedded runner's queue (`next_attempt_at`, `lease_until`) and the
 *   delivery state the status JSON shows (`attempts`, `delivered_at`, `last_error`);
 *   `given_up_at` marks it dead (retries ran out, redrivable: `window_started_at` restarts the
 *   retry window); `dispatched_at` is when the AWS path handed it to SQS.
 * - A partial index for the poller (open rows by due time) and one for the AWS redispatch
 *   (open, undispatched rows).
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql.unsafe(`ALTER TABLE images ADD COLUMN callback_url text`)
  yield* sql.unsafe(`
    CREATE TABLE webhook_deliveries (
      event_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      image_id uuid NOT NULL REFERENCES images (id) ON DELETE CASCADE,
      type text NOT NULL CONSTRAINT webhook_deliveries_type_check
        CHECK (type IN ('image.ready', 'image.failed', 'image.expired')),
      url text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      window_started_at timestamptz NOT NULL DEFAULT now(),
      attempts integer NOT NULL DEFAULT 0 CONSTRAINT webhook_deliveries_attempts_check CHECK (attempts >= 0),
      next_attempt_at timestamptz NOT NULL DEFAULT now(),
      last_attempt_at timestamptz,
      lease_until timestamptz,
      delivered_at timestamptz,
      last_error text,
      given_up_at timestamptz,
      dispatched_at timestamptz
    )
  `)
  yield* sql.unsafe(`CREATE INDEX webhook_deliveries_image_idx ON webhook_deliveries (image_id, created_at)`)
  yield* sql.unsafe(`
    CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at)
    WHERE delivered_at IS NULL AND given_up_at IS NULL
  `)
  yield* sql.unsafe(`
    CREATE INDEX webhook_deliveries_undispatched_idx ON webhook_deliveries (created_at)
    WHERE delivered_at IS NULL AND given_up_at IS NULL AND dispatched_at IS NULL
  `)
  yield* sql.unsafe(`
    CREATE FUNCTION imgpipe_webhook_outbox() RETURNS trigger
    LANGUAGE plpgsql AS $fn$
    BEGIN
      INSERT INTO webhook_deliveries (image_id, type, url)
      VALUES (NEW.id, 'image.' || NEW.status, NEW.callback_url);
      RETURN NULL;
    END
    $fn$
  `)
  yield* sql.unsafe(`
    CREATE TRIGGER images_webhook_outbox
    AFTER UPDATE OF status ON images
    FOR EACH ROW
    WHEN (NEW.status IN ('ready', 'failed', 'expired')
          AND NEW.status IS DISTINCT FROM OLD.status
          AND NEW.callback_url IS NOT NULL)
    EXECUTE FUNCTION imgpipe_webhook_outbox()
  `)
})
