package io.pivotpool.etcd;

import io.etcd.jetcd.common.exception.EtcdException;
import io.pivotpool.coordinator.support.RemoteText;
import org.jspecify.annotations.Nullable;

/**
 * What a failure of a call to etcd means, read from the exception and its causes: a refused TLS
 * handshake (and which side refused), a permission etcd denied, a reply larger than the client
 * accepts, a lease etcd no longer knows; and a failure's text as callers may see it, the password
 * masked. The coordinator turns these into its {@code CoordinatorException}s and decides from
 * them whether etcd counts as reachable.
 */
final class EtcdFailures {

    private EtcdFailures() {
    }

    /**
     * What a failed TLS handshake means for the settings, or {@code null} if the failure was not
     * one. gRPC reports every handshake failure as {@code UNAVAILABLE}, the same as a member that
     * is down; only the causes tell which side refused whom, and a user fixing a certificate needs to
     * know that.
     */
    static @Nullable String tlsProblem(Throwable ex) {
        javax.net.ssl.SSLException tls = find(ex, javax.net.ssl.SSLException.class);
        if (tls == null) {
            return null;
        }
        if (find(ex, java.security.cert.CertificateException.class) != null
                || find(ex, java.security.cert.CertPathBuilderException.class) != null
                || find(ex, java.security.cert.CertPathValidatorException.class) != null) {
            return "TLS handshake failed, the member's certificate is not trusted (it must be signed by a CA of the "
                    + "trust certificates, or of the JVM's trust store when none are set, and name the endpoint's host)";
        }
        String alert = String.valueOf(tls.getMessage());
        if (alert.contains("Received fatal alert") && (alert.contains("bad_certificate") || alert.contains("certificate_required")
                || alert.contains("unknown_ca") || alert.contains("certificate_unknown"))) {
            // "Received": the member sent the alert, so it refused the client's certificate, or the lack of one.
            return "TLS handshake failed, the member refused the client certificate (it requires one signed by its "
                    + "CA: set the client certificate and key)";
        }
        return "TLS handshake failed";
    }

    /** etcd refused the user access to a key: jetcd passes it on as its own exception or as gRPC's status. */
    static boolean isPermissionDenied(Throwable ex, @Nullable EtcdException etcd) {
        return (etcd != null && etcd.getErrorCode() == io.etcd.jetcd.common.exception.ErrorCode.PERMISSION_DENIED)
                || io.grpc.Status.fromThrowable(ex).getCode() == io.grpc.Status.Code.PERMISSION_DENIED;
    }

    /** A reply larger than the client accepts (gRPC's RESOURCE_EXHAUSTED). */
    static boolean isTooLarge(Throwable ex) {
        EtcdException etcd = find(ex, EtcdException.class);
        if (etcd != null && etcd.getErrorCode() == io.etcd.jetcd.common.exception.ErrorCode.RESOURCE_EXHAUSTED) {
            return true;
        }
        for (Throwable current = ex; current != null; current = (current.getCause() != current) ? current.getCause() : null) {
            if (current.getMessage() != null && current.getMessage().contains("RESOURCE_EXHAUSTED")) {
                return true;
            }
        }
        return false;
    }

    /** etcd no longer knows a lease (it expired, or was revoked). */
    static boolean isLeaseNotFound(Throwable ex) {
        for (Throwable current = ex; current != null; current = (current.getCause() != current) ? current.getCause() : null) {
            if (current.getMessage() != null && current.getMessage().contains("lease not found")) {
                return true;
            }
        }
        return false;
    }

    /** The outermost and innermost messages of a failure, the password masked, control characters escaped. */
    static String summary(Throwable ex, @Nullable String secret) {
        Throwable root = ex;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        // The first line only: gRPC appends its channel pipeline to an I/O failure's description.
        String text = String.valueOf(ex.getMessage()).lines().findFirst().orElse("");
        if (root != ex) {
            text = text + " (" + root.getClass().getSimpleName() + ": " + root.getMessage() + ")";
        }
        if (secret != null) {
            text = text.replace(secret, "******");
        }
        return RemoteText.escapeControls(text.length() > 1024 ? text.substring(0, 1024) + "..." : text);
    }

    /** The first of {@code ex} and its causes that is a {@code type}, or null. */
    static <E extends Throwable> @Nullable E find(Throwable ex, Class<E> type) {
        for (Throwable current = ex; current != null; current = (current.getCause() != current) ? current.getCause() : null) {
            if (type.isInstance(current)) {
                return type.cast(current);
            }
        }
        return null;
    }
}
