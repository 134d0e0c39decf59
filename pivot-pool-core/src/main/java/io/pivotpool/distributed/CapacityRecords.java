package io.pivotpool.distributed;

import java.nio.charset.StandardCharsets;

/**
 * What the instances write for one another through the coordinator's shared state: each instance's
 * demand report, read by the leader, and the leader's target for each instance, read by that
 * instance only (so a follower's cost per round does not grow with the cluster).
 *
 * <p>Values are a few plain decimal integers separated by spaces, behind a version tag. What is
 * read back comes from a shared server and is parsed as untrusted: anything but plain decimal
 * integers within range is rejected as garbage, never interpreted.
 */
final class CapacityRecords {

    /** Under the coordinator's namespace, apart from application keys by its own prefix. */
    private static final String PREFIX = "pivot.capacity:";

    private static final String DEMAND_TAG = "d1";

    private static final String TARGET_TAG = "t1";

    /**
     * No record longer than this is ever read or parsed: the manager reads records with this
     * bound ({@link io.pivotpool.coordinator.Coordinator#getAll(java.util.Collection, int)}), so a
     * value planted large is not copied to the leader every round. A long's digits fit easily.
     */
    static final int MAX_RECORD_BYTES = 128;

    private CapacityRecords() {
    }

    static String demandKey(String pool, String instanceId) {
        return PREFIX + pool + ":demand:" + instanceId;
    }

    static String targetKey(String pool, String instanceId) {
        return PREFIX + pool + ":target:" + instanceId;
    }

    /**
     * An instance's report.
     *
     * @param demand objects used or waited for at the recent peak
     * @param localMaxSize the most this instance can hold
     * @param grant what it holds now
     */
    record Demand(int demand, int localMaxSize, int grant) {

        byte[] encode() {
            return (DEMAND_TAG + " " + this.demand + " " + this.localMaxSize + " " + this.grant)
                .getBytes(StandardCharsets.US_ASCII);
        }

        /** @throws IllegalArgumentException describing why the bytes are not a demand report */
        static Demand decode(byte[] bytes) {
            long[] fields = fields(bytes, DEMAND_TAG, 3);
            return new Demand(toInt(fields[0]), toInt(fields[1]), toInt(fields[2]));
        }
    }

    /**
     * The leader's target for one instance.
     *
     * @param fencingToken the term of the leader that wrote it
     * @param target the objects the instance should hold
     */
    record Target(long fencingToken, int target) {

        byte[] encode() {
            return (TARGET_TAG + " " + this.fencingToken + " " + this.target).getBytes(StandardCharsets.US_ASCII);
        }

        /** @throws IllegalArgumentException describing why the bytes are not a target */
        static Target decode(byte[] bytes) {
            long[] fields = fields(bytes, TARGET_TAG, 2);
            return new Target(fields[0], toInt(fields[1]));
        }
    }

    /**
     * The numbers of a record {@code "<tag> <n1> ... <count>"}, read straight from the bytes: the
     * leader decodes one report per member and pool every round (3,000 at a thousand members with
     * three pools), so no string, split or regular expression is made per record.
     */
    private static long[] fields(byte[] bytes, String tag, int count) {
        if (bytes.length > MAX_RECORD_BYTES) {
            throw new IllegalArgumentException("a value of " + bytes.length + " bytes, longer than any record");
        }
        int spaces = 0;
        for (byte b : bytes) {
            spaces += (b == ' ') ? 1 : 0;
        }
        if (spaces != count || !startsWithTag(bytes, tag)) {
            throw new IllegalArgumentException("not a '" + tag + "' record of " + count + " numbers");
        }
        long[] fields = new long[count];
        int at = tag.length() + 1;
        for (int i = 0; i < count; i++) {
            int end = at;
            while (end < bytes.length && bytes[end] != ' ') {
                end++;
            }
            fields[i] = plainDecimal(bytes, at, end);
            at = end + 1;
        }
        return fields;
    }

    /** Whether the bytes begin with the tag followed by a space. */
    private static boolean startsWithTag(byte[] bytes, String tag) {
        if (bytes.length <= tag.length() || bytes[tag.length()] != ' ') {
            return false;
        }
        for (int i = 0; i < tag.length(); i++) {
            if (bytes[i] != tag.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    /** Digits only, no sign, no exponent, no leading zeros, within a long: bytes {@code [from, to)}. */
    private static long plainDecimal(byte[] bytes, int from, int to) {
        int length = to - from;
        if (length == 0 || length > 18 || (length > 1 && bytes[from] == '0')) {
            throw new IllegalArgumentException("a field that is not a plain non-negative decimal integer");
        }
        long value = 0;
        for (int i = from; i < to; i++) {
            byte c = bytes[i];
            if (c < '0' || c > '9') {
                throw new IllegalArgumentException("a field that is not a plain non-negative decimal integer");
            }
            value = value * 10 + (c - '0');
        }
        return value;
    }

    private static int toInt(long value) {
        if (value > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a field above " + Integer.MAX_VALUE);
        }
        return (int) value;
    }
}
