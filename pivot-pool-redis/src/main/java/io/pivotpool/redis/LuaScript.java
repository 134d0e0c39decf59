package io.pivotpool.redis;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * One of {@link RedisScripts}: its source and the SHA-1 digest {@code EVALSHA} names it by.
 *
 * @param name a short name for messages
 * @param source the Lua text
 * @param sha1 the lower-case hex SHA-1 of the source
 */
record LuaScript(String name, String source, String sha1) {

    LuaScript(String name, String source) {
        this(name, source, sha1(source));
    }

    private static String sha1(String source) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1")
                .digest(source.getBytes(StandardCharsets.UTF_8)));
        }
        catch (NoSuchAlgorithmException ex) {
            throw new IllegalStateException("SHA-1 is required of every Java platform", ex);
        }
    }
}
