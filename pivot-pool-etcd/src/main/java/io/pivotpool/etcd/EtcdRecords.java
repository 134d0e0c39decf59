package io.pivotpool.etcd;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KeyValue;
import io.pivotpool.coordinator.InstanceInfo;
import io.pivotpool.coordinator.support.RemoteText;
import org.jspecify.annotations.Nullable;

/**
 * The values the etcd coordinator writes under its namespace, and their strict reading: a value
 * read back is believed only in exactly the form written and within the limits a member writes
 * (anything else is garbage to the caller, which drops it and warns). Each concern of the
 * coordinator builds its values here, so that writing and reading a format sit side by side:
 * <ul>
 * <li>a registration: flat JSON ({@link FlatJson}) of the instance's fields and its {@code ttl};</li>
 * <li>a leader record: flat JSON of {@code holder}, {@code token} and {@code ttl};</li>
 * <li>a pool's version key, its ledger: {@code sum:reconciledAtMillis};</li>
 * <li>a grant: {@code granted:ttlMillis};</li>
 * <li>a shared-state value or a queued message: a tag byte ({@link #STATE_TAG},
 * {@link #MESSAGE_TAG}), then the bytes as given, so that a value of another writer is told
 * apart.</li>
 * </ul>
 * Numbers are plain decimals of at most 64 bits ({@link #decimalLong}).
 */
final class EtcdRecords {

    /** The first byte of a shared-state value. */
    static final byte STATE_TAG = 'v';

    /** The first byte of a queued message. */
    static final byte MESSAGE_TAG = 'm';

    private static final Pattern DECIMAL_LONG = Pattern.compile("0|[1-9][0-9]{0,18}");

    private EtcdRecords() {
    }

    /** A registration as read: its entry, the instance, and the ttl it was written with. */
    record MemberRecord(KeyValue entry, InstanceInfo instance, long ttlMillis) {
    }

    /**
     * A registration as this coordinator writes it: flat JSON of the instance's fields and its
     * {@code ttl}, within the size limits, under the key of its own id.
     *
     * @throws IllegalArgumentException if it is not one
     */
    static MemberRecord readMember(KeyValue entry, String id) {
        if (entry.getValue().size() > EtcdCoordinator.MAX_MEMBER_BYTES) {
            throw new IllegalArgumentException("an instance record larger than " + EtcdCoordinator.MAX_MEMBER_BYTES + " bytes");
        }
        Map<String, String> fields = FlatJson.read(entry.getValue().toString(StandardCharsets.UTF_8));
        if (fields.size() > EtcdCoordinator.MAX_MEMBER_FIELDS) {
            throw new IllegalArgumentException("an instance record with more than " + EtcdCoordinator.MAX_MEMBER_FIELDS + " fields");
        }
        String ttl = fields.remove("ttl");
        long ttlMillis = (ttl != null) ? decimalLong(ttl) : 0;
        if (ttlMillis <= 0 || ttlMillis > EtcdCoordinator.MAX_TTL_MILLIS) {
            throw new IllegalArgumentException("an instance record without a valid ttl field");
        }
        InstanceInfo instance = InstanceInfo.fromFields(fields);
        if (!instance.id().equals(id)) {
            throw new IllegalArgumentException("an instance record whose id differs from its key");
        }
        return new MemberRecord(entry, instance, ttlMillis);
    }

    /** A leader record: flat JSON of {@code holder}, {@code token} and {@code ttl}. */
    static ByteSequence leaderValue(String holder, long token, long ttlMillis) {
        Map<String, String> fields = new LinkedHashMap<>();
        fields.put("holder", holder);
        fields.put("token", Long.toString(token));
        fields.put("ttl", Long.toString(ttlMillis));
        return ByteSequence.from(utf8(FlatJson.write(fields)));
    }

    /** {@code {sum, reconciledAtMillis}} from a version key, or {@code null} if it is not one (reconciled then). */
    static long @Nullable [] ledger(KeyValue version) {
        String value = version.getValue().toString(StandardCharsets.UTF_8);
        int colon = value.indexOf(':');
        if (version.getValue().size() > 40 || colon < 0) {
            return null;
        }
        try {
            long sum = decimalLong(value.substring(0, colon));
            long reconciledAt = decimalLong(value.substring(colon + 1));
            // A sum no set of int grants can reach, or a reconciliation stamped in the future, is not ours.
            if (sum > (long) EtcdCoordinator.MAX_GRANTS * Integer.MAX_VALUE || reconciledAt > System.currentTimeMillis() + EtcdCoordinator.MAX_TTL_MILLIS) {
                return null;
            }
            return new long[] { sum, reconciledAt };
        }
        catch (IllegalArgumentException ex) {
            return null;
        }
    }

    /** A pool's version key: {@code sum:reconciledAtMillis}. */
    static ByteSequence ledgerValue(long sum, long reconciledAtMillis) {
        return ByteSequence.from(utf8(sum + ":" + reconciledAtMillis));
    }

    /** A grant as read: its entry, holder, objects granted and the ttl it was asked for. */
    record GrantRecord(KeyValue entry, String holder, int granted, long ttlMillis) {
    }

    /**
     * A grant record as this coordinator writes it, {@code granted:ttlMillis} within limits.
     *
     * @throws IllegalArgumentException if it is not one
     */
    static GrantRecord grantRecord(KeyValue entry, String holder) {
        String value = entry.getValue().toString(StandardCharsets.UTF_8);
        int colon = value.indexOf(':');
        if (colon < 0 || entry.getValue().size() > 64 || holder.isEmpty() || utf8(holder).length > EtcdCoordinator.MAX_ID_BYTES) {
            throw new IllegalArgumentException("not granted:ttl");
        }
        long granted = decimalLong(value.substring(0, colon));
        long ttlMillis = decimalLong(value.substring(colon + 1));
        if (granted > Integer.MAX_VALUE || ttlMillis <= 0 || ttlMillis > EtcdCoordinator.MAX_TTL_MILLIS) {
            throw new IllegalArgumentException("out of bounds");
        }
        return new GrantRecord(entry, holder, (int) granted, ttlMillis);
    }

    /** A shared-state value or a queued message: its tag byte, then the payload as given. */
    static ByteSequence tagged(byte tag, byte[] payload) {
        byte[] value = new byte[payload.length + 1];
        value[0] = tag;
        System.arraycopy(payload, 0, value, 1, payload.length);
        return ByteSequence.from(value);
    }

    /**
     * Parses a plain decimal integer of at most 64 bits: no sign, exponent, hex, leading zero,
     * {@code inf} or {@code nan}.
     *
     * @throws IllegalArgumentException for anything else
     */
    static long decimalLong(@Nullable String text) {
        if (text == null || !DECIMAL_LONG.matcher(text).matches()) {
            throw new IllegalArgumentException("not a plain decimal integer: '" + RemoteText.escape(String.valueOf(text)) + "'");
        }
        try {
            return Long.parseLong(text);
        }
        catch (NumberFormatException ex) {
            throw new IllegalArgumentException("not a 64-bit integer: '" + text + "'");
        }
    }

    /** The UTF-8 bytes of {@code text}. */
    static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }
}
