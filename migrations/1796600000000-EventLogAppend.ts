import { MigrationInterface, QueryRunner } from "typeorm";

/**
 * The event log's append in one round trip (issue 14, sendMessage throughput): the stream's ordering
 * lock and the INSERT in one call, so the lock is held from the INSERT to COMMIT (one round trip and
 * the commit) instead of from a separate lock statement (two round trips and the commit). The lock
 * key is the one `EventLog` takes itself for `appendSelect` (`events/log.ts`).
 */
export class EventLogAppend1796600000000 implements MigrationInterface {
    name = 'EventLogAppend1796600000000'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE FUNCTION event_log_append(p_corp_id bigint, p_stream text, p_events jsonb) RETURNS TABLE (id bigint)
            LANGUAGE plpgsql AS $$
            BEGIN
              PERFORM pg_advisory_xact_lock(hashtextextended('event-log:' || p_corp_id::text || ':' || p_stream, 0));
              RETURN QUERY
                INSERT INTO event (corp_id, stream, type, subject_type, subject_id, audience, data, occurred_at)
                SELECT p_corp_id, p_stream, e.type, e.subject_type, e.subject_id, e.audience, e.data, clock_timestamp()
                  FROM jsonb_to_recordset(p_events) AS e(type text, subject_type text, subject_id bigint, audience text[], data jsonb)
                RETURNING event.id;
            END $$`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP FUNCTION event_log_append(bigint, text, jsonb)`);
    }
}
