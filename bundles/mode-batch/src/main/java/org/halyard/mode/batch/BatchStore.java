package org.halyard.mode.batch;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Properties;

/**
 * The durable state of files and batches in an embedded H2 database ({@code db/batch.mv.db} under
 * the data directory). Every change is one transaction, committed before the caller answers
 * its client; {@code WRITE_DELAY=0} makes H2 write each commit to the file at once, so a killed
 * process loses no committed change (an operating-system crash may lose the last second, see
 * docs/batch.md).
 *
 * <p>One connection, used under this object's lock: the batch mode's writes are few (a file
 * uploaded, a batch created, started, counted once a second, ended) and small.
 */
final class BatchStore implements AutoCloseable {

    private static final int SCHEMA_VERSION = 1;

    private static final String BATCH_COLUMNS = "id, tenant, endpoint, input_file_id, completion_window, status, "
            + "outcome, created_at, in_progress_at, expires_at, finalizing_at, completed_at, failed_at, expired_at, "
            + "cancelling_at, cancelled_at, total, completed, failed, output_file_id, error_file_id, errors, metadata";

    private final Connection db;

    private BatchStore(Connection db) {
        this.db = db;
    }

    /** Opens (creating) the database in {@code dir}. */
    static BatchStore open(Path dir) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", "halyard");
        p.setProperty("password", "");
        // WRITE_DELAY=0: a commit is in the file when commit() returns (a killed process loses
        // nothing committed); DB_CLOSE_ON_EXIT=FALSE: the component closes it, not a JVM hook
        String url = "jdbc:h2:file:" + dir.resolve("batch").toAbsolutePath() + ";WRITE_DELAY=0;DB_CLOSE_ON_EXIT=FALSE";
        Connection c = new org.h2.Driver().connect(url, p);
        if (c == null) {
            throw new SQLException("H2 did not accept " + url);
        }
        BatchStore s = new BatchStore(c);
        s.migrate();
        return s;
    }

    private void migrate() throws SQLException {
        try (Statement st = db.createStatement()) {
            st.execute("CREATE TABLE IF NOT EXISTS meta (k VARCHAR(64) PRIMARY KEY, v VARCHAR(256))");
            st.execute("CREATE TABLE IF NOT EXISTS files (id VARCHAR(64) PRIMARY KEY, tenant VARCHAR(256) NOT NULL, "
                    + "purpose VARCHAR(32) NOT NULL, filename VARCHAR(1024) NOT NULL, bytes BIGINT NOT NULL, "
                    + "created_at BIGINT NOT NULL)");
            st.execute("CREATE INDEX IF NOT EXISTS files_tenant ON files (tenant, created_at)");
            st.execute("CREATE TABLE IF NOT EXISTS batches (id VARCHAR(64) PRIMARY KEY, tenant VARCHAR(256) NOT NULL, "
                    + "endpoint VARCHAR(64) NOT NULL, input_file_id VARCHAR(64) NOT NULL, "
                    + "completion_window VARCHAR(16) NOT NULL, status VARCHAR(16) NOT NULL, outcome VARCHAR(16), "
                    + "created_at BIGINT NOT NULL, in_progress_at BIGINT, expires_at BIGINT NOT NULL, "
                    + "finalizing_at BIGINT, completed_at BIGINT, failed_at BIGINT, expired_at BIGINT, "
                    + "cancelling_at BIGINT, cancelled_at BIGINT, total INT NOT NULL, completed INT NOT NULL, "
                    + "failed INT NOT NULL, output_file_id VARCHAR(64), error_file_id VARCHAR(64), "
                    + "errors CLOB, metadata CLOB)");
            st.execute("CREATE INDEX IF NOT EXISTS batches_tenant ON batches (tenant, created_at)");
            st.execute("MERGE INTO meta KEY (k) VALUES ('schema', '" + SCHEMA_VERSION + "')");
        }
    }

    @Override
    public synchronized void close() {
        try {
            db.close();
        } catch (SQLException e) {
            BatchJobs.LOG.warn("Closing the batch database failed", e);
        }
    }

    // ---- files ----

    synchronized void insertFile(FileRecord f) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement("INSERT INTO files (id, tenant, purpose, filename, bytes, "
                + "created_at) VALUES (?, ?, ?, ?, ?, ?)")) {
            bindFile(ps, f);
            ps.executeUpdate();
        }
    }

    private static void bindFile(PreparedStatement ps, FileRecord f) throws SQLException {
        ps.setString(1, f.id());
        ps.setString(2, f.tenant());
        ps.setString(3, f.purpose());
        ps.setString(4, f.filename());
        ps.setLong(5, f.bytes());
        ps.setLong(6, f.createdAt());
    }

    synchronized Optional<FileRecord> file(String id) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement("SELECT * FROM files WHERE id = ?")) {
            ps.setString(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(file(rs)) : Optional.empty();
            }
        }
    }

    private static FileRecord file(ResultSet rs) throws SQLException {
        return new FileRecord(rs.getString("id"), rs.getString("tenant"), rs.getString("purpose"),
                rs.getString("filename"), rs.getLong("bytes"), rs.getLong("created_at"));
    }

    /**
     * Files of a tenant (all tenants when null), newest first unless {@code ascending}, after the
     * cursor {@code after} (a file id), at most {@code limit}.
     */
    synchronized List<FileRecord> files(String tenant, String purpose, String after, int limit, boolean ascending)
            throws SQLException {
        StringBuilder sql = new StringBuilder("SELECT * FROM files WHERE 1 = 1");
        List<Object> args = new ArrayList<>();
        if (tenant != null) {
            sql.append(" AND tenant = ?");
            args.add(tenant);
        }
        if (purpose != null) {
            sql.append(" AND purpose = ?");
            args.add(purpose);
        }
        if (after != null) {
            Optional<FileRecord> cursor = file(after);
            if (cursor.isPresent()) {
                String op = ascending ? ">" : "<";
                sql.append(" AND (created_at ").append(op).append(" ? OR (created_at = ? AND id ").append(op).append(" ?))");
                args.add(cursor.get().createdAt());
                args.add(cursor.get().createdAt());
                args.add(after);
            }
        }
        String dir = ascending ? " ASC" : " DESC";
        sql.append(" ORDER BY created_at").append(dir).append(", id").append(dir).append(" LIMIT ?");
        args.add(limit);
        List<FileRecord> out = new ArrayList<>();
        try (PreparedStatement ps = prepare(sql.toString(), args); ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.add(file(rs));
            }
        }
        return out;
    }

    synchronized boolean deleteFile(String id) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement("DELETE FROM files WHERE id = ?")) {
            ps.setString(1, id);
            return ps.executeUpdate() > 0;
        }
    }

    /** Every file id the database knows, and the output and error ids reserved by batches being finalized. */
    synchronized List<String> knownFileIds() throws SQLException {
        List<String> ids = new ArrayList<>();
        try (Statement st = db.createStatement();
                ResultSet rs = st.executeQuery("SELECT id FROM files UNION SELECT output_file_id FROM batches "
                        + "WHERE output_file_id IS NOT NULL UNION SELECT error_file_id FROM batches "
                        + "WHERE error_file_id IS NOT NULL")) {
            while (rs.next()) {
                ids.add(rs.getString(1));
            }
        }
        return ids;
    }

    /** Files created at or before {@code createdBefore} that no unfinished batch reads. */
    synchronized List<FileRecord> filesCreatedBefore(long createdBefore) throws SQLException {
        List<FileRecord> out = new ArrayList<>();
        try (PreparedStatement ps = db.prepareStatement("SELECT * FROM files f WHERE f.created_at <= ? AND NOT EXISTS "
                + "(SELECT 1 FROM batches b WHERE b.input_file_id = f.id AND b.status IN ('validating', 'in_progress', "
                + "'finalizing', 'cancelling'))")) {
            ps.setLong(1, createdBefore);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(file(rs));
                }
            }
        }
        return out;
    }

    // ---- batches ----

    synchronized void insertBatch(BatchRecord b) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement("INSERT INTO batches (" + BATCH_COLUMNS + ") VALUES "
                + "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
            Object[] v = {b.id(), b.tenant(), b.endpoint(), b.inputFileId(), b.completionWindow(), b.status(),
                b.outcome(), b.createdAt(), b.inProgressAt(), b.expiresAt(), b.finalizingAt(), b.completedAt(),
                b.failedAt(), b.expiredAt(), b.cancellingAt(), b.cancelledAt(), b.total(), b.completed(), b.failed(),
                b.outputFileId(), b.errorFileId(), b.errors(), b.metadata()};
            bind(ps, java.util.Arrays.asList(v));
            ps.executeUpdate();
        }
    }

    synchronized Optional<BatchRecord> batch(String id) throws SQLException {
        try (PreparedStatement ps = db.prepareStatement("SELECT * FROM batches WHERE id = ?")) {
            ps.setString(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(batch(rs)) : Optional.empty();
            }
        }
    }

    private static Long nullableLong(ResultSet rs, String column) throws SQLException {
        long v = rs.getLong(column);
        return rs.wasNull() ? null : v;
    }

    private static BatchRecord batch(ResultSet rs) throws SQLException {
        return new BatchRecord(rs.getString("id"), rs.getString("tenant"), rs.getString("endpoint"),
                rs.getString("input_file_id"), rs.getString("completion_window"), rs.getString("status"),
                rs.getString("outcome"), rs.getLong("created_at"), nullableLong(rs, "in_progress_at"),
                rs.getLong("expires_at"), nullableLong(rs, "finalizing_at"), nullableLong(rs, "completed_at"),
                nullableLong(rs, "failed_at"), nullableLong(rs, "expired_at"), nullableLong(rs, "cancelling_at"),
                nullableLong(rs, "cancelled_at"), rs.getInt("total"), rs.getInt("completed"), rs.getInt("failed"),
                rs.getString("output_file_id"), rs.getString("error_file_id"), rs.getString("errors"),
                rs.getString("metadata"));
    }

    /** Batches of a tenant (all when null), newest first, after the cursor, at most {@code limit}. */
    synchronized List<BatchRecord> batches(String tenant, String after, int limit) throws SQLException {
        StringBuilder sql = new StringBuilder("SELECT * FROM batches WHERE 1 = 1");
        List<Object> args = new ArrayList<>();
        if (tenant != null) {
            sql.append(" AND tenant = ?");
            args.add(tenant);
        }
        if (after != null) {
            Optional<BatchRecord> cursor = batch(after);
            if (cursor.isPresent()) {
                sql.append(" AND (created_at < ? OR (created_at = ? AND id < ?))");
                args.add(cursor.get().createdAt());
                args.add(cursor.get().createdAt());
                args.add(after);
            }
        }
        sql.append(" ORDER BY created_at DESC, id DESC LIMIT ?");
        args.add(limit);
        List<BatchRecord> out = new ArrayList<>();
        try (PreparedStatement ps = prepare(sql.toString(), args); ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                out.add(batch(rs));
            }
        }
        return out;
    }

    /** Batches not yet in a final status, oldest first. */
    synchronized List<BatchRecord> unfinished() throws SQLException {
        List<BatchRecord> out = new ArrayList<>();
        try (Statement st = db.createStatement(); ResultSet rs = st.executeQuery("SELECT * FROM batches WHERE status "
                + "IN ('validating', 'in_progress', 'finalizing', 'cancelling') ORDER BY created_at, id")) {
            while (rs.next()) {
                out.add(batch(rs));
            }
        }
        return out;
    }

    /** Unfinished batches that read a file. */
    synchronized List<String> unfinishedReading(String fileId) throws SQLException {
        List<String> out = new ArrayList<>();
        try (PreparedStatement ps = db.prepareStatement("SELECT id FROM batches WHERE input_file_id = ? AND status "
                + "IN ('validating', 'in_progress', 'finalizing', 'cancelling')")) {
            ps.setString(1, fileId);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getString(1));
                }
            }
        }
        return out;
    }

    /** Validation passed: the batch runs. False when it is no longer validating (cancelled meanwhile). */
    synchronized boolean startRun(String id, int total, long now) throws SQLException {
        return update("UPDATE batches SET status = 'in_progress', total = ?, in_progress_at = ? WHERE id = ? "
                + "AND status = 'validating'", total, now, id) > 0;
    }

    /** Validation failed. */
    synchronized void fail(String id, String errorsJson, int total, long now) throws SQLException {
        update("UPDATE batches SET status = 'failed', errors = ?, total = ?, failed_at = ? WHERE id = ?",
                errorsJson, total, now, id);
    }

    /**
     * Asks for cancellation: a validating batch ends at once (cancelled), a running one becomes
     * cancelling. Returns the status after, or empty when the batch had already ended.
     */
    synchronized Optional<String> requestCancel(String id, long now) throws SQLException {
        Optional<BatchRecord> b = batch(id);
        if (b.isEmpty() || b.get().ended()) {
            return Optional.empty();
        }
        switch (b.get().status()) {
            case BatchRecord.VALIDATING -> {
                update("UPDATE batches SET status = 'cancelled', cancelling_at = ?, cancelled_at = ? WHERE id = ?",
                        now, now, id);
                return Optional.of(BatchRecord.CANCELLED);
            }
            case BatchRecord.IN_PROGRESS -> {
                update("UPDATE batches SET status = 'cancelling', cancelling_at = ? WHERE id = ?", now, id);
                return Optional.of(BatchRecord.CANCELLING);
            }
            default -> {
                return Optional.of(b.get().status());
            }
        }
    }

    /** The request counts so far (written about once a second while lines finish). */
    synchronized void counts(String id, int completed, int failed) throws SQLException {
        update("UPDATE batches SET completed = ?, failed = ? WHERE id = ?", completed, failed, id);
    }

    /**
     * Finalization begins: the final status and the output and error file ids are recorded, so
     * that a restart finishes the same finalization. A completing batch shows {@code finalizing}.
     * Keeps ids reserved by an earlier, interrupted attempt.
     */
    synchronized BatchRecord beginFinalize(String id, String outcome, String outputFileId, String errorFileId, long now)
            throws SQLException {
        BatchRecord b = batch(id).orElseThrow();
        if (b.outcome() != null) {
            return b;
        }
        String status = BatchRecord.COMPLETED.equals(outcome) ? BatchRecord.FINALIZING : b.status();
        update("UPDATE batches SET outcome = ?, output_file_id = ?, error_file_id = ?, status = ?, finalizing_at = ? "
                + "WHERE id = ?", outcome, outputFileId, errorFileId, status, now, id);
        return batch(id).orElseThrow();
    }

    /**
     * Ends a batch in one transaction: its output and error files (null when it has none) become
     * files, and it takes its final status and counts.
     */
    synchronized void finish(BatchRecord b, long now, int completed, int failed, FileRecord output, FileRecord errors)
            throws SQLException {
        boolean auto = db.getAutoCommit();
        db.setAutoCommit(false);
        try {
            for (FileRecord f : new FileRecord[] {output, errors}) {
                if (f != null) {
                    try (PreparedStatement ps = db.prepareStatement("MERGE INTO files (id, tenant, purpose, filename, "
                            + "bytes, created_at) KEY (id) VALUES (?, ?, ?, ?, ?, ?)")) {
                        bindFile(ps, f);
                        ps.executeUpdate();
                    }
                }
            }
            String column = switch (b.outcome()) {
                case BatchRecord.COMPLETED -> "completed_at";
                case BatchRecord.EXPIRED -> "expired_at";
                case BatchRecord.CANCELLED -> "cancelled_at";
                default -> throw new IllegalStateException("not a final status: " + b.outcome());
            };
            update("UPDATE batches SET status = ?, " + column + " = ?, completed = ?, failed = ?, output_file_id = ?, "
                    + "error_file_id = ? WHERE id = ?", b.outcome(), now, completed, failed,
                    output == null ? null : output.id(), errors == null ? null : errors.id(), b.id());
            db.commit();
        } catch (SQLException | RuntimeException e) {
            db.rollback();
            throw e;
        } finally {
            db.setAutoCommit(auto);
        }
    }

    /** Ended batches whose end is before {@code before}. */
    synchronized List<BatchRecord> endedBefore(long before) throws SQLException {
        List<BatchRecord> out = new ArrayList<>();
        try (PreparedStatement ps = db.prepareStatement("SELECT * FROM batches WHERE COALESCE(completed_at, failed_at, "
                + "expired_at, cancelled_at) <= ? AND status IN ('completed', 'failed', 'expired', 'cancelled')")) {
            ps.setLong(1, before);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(batch(rs));
                }
            }
        }
        return out;
    }

    synchronized void deleteBatch(String id) throws SQLException {
        update("DELETE FROM batches WHERE id = ?", id);
    }

    // ---- helpers ----

    private int update(String sql, Object... args) throws SQLException {
        try (PreparedStatement ps = prepare(sql, nulls(args))) {
            return ps.executeUpdate();
        }
    }

    /** List.of refuses nulls: boxes them. */
    private static List<Object> nulls(Object[] args) {
        List<Object> l = new ArrayList<>(args.length);
        java.util.Collections.addAll(l, args);
        return l;
    }

    private PreparedStatement prepare(String sql, List<Object> args) throws SQLException {
        PreparedStatement ps = db.prepareStatement(sql);
        bind(ps, args);
        return ps;
    }

    private static void bind(PreparedStatement ps, List<Object> args) throws SQLException {
        for (int i = 0; i < args.size(); i++) {
            Object a = args.get(i);
            if (a == null) {
                ps.setNull(i + 1, Types.VARCHAR);
            } else if (a instanceof Integer n) {
                ps.setInt(i + 1, n);
            } else if (a instanceof Long n) {
                ps.setLong(i + 1, n);
            } else {
                ps.setString(i + 1, a.toString());
            }
        }
    }
}
