package io.pivotpool.sample.partner;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.HexFormat;

import javax.crypto.Mac;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * The partner's request signing: an HMAC-SHA256 key derived from the API secret with PBKDF2, which
 * is deliberately slow (tens of milliseconds of CPU), and one signature per request.
 */
final class SigningKeys {

    private static final byte[] SALT = "partner-quote-api/v1".getBytes(StandardCharsets.US_ASCII);

    private static final int ITERATIONS = 150_000;

    private SigningKeys() {
    }

    static SecretKeySpec derive(String apiSecret) {
        PBEKeySpec spec = new PBEKeySpec(apiSecret.toCharArray(), SALT, ITERATIONS, 256);
        try {
            byte[] key = SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256").generateSecret(spec).getEncoded();
            return new SecretKeySpec(key, "HmacSHA256");
        }
        catch (GeneralSecurityException ex) {
            throw new IllegalStateException("Cannot derive the partner signing key", ex);
        }
        finally {
            spec.clearPassword();
        }
    }

    static String sign(byte[] key, String request) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return HexFormat.of().formatHex(mac.doFinal(request.getBytes(StandardCharsets.UTF_8)));
        }
        catch (GeneralSecurityException ex) {
            throw new IllegalStateException("Cannot sign a partner request", ex);
        }
    }
}
