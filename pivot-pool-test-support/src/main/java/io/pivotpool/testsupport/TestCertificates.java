package io.pivotpool.testsupport;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;


/**
 * A throw-away private PKI made with {@code openssl} in a fresh temporary directory, valid for one
 * day: what a TLS deployment of a coordination server looks like, for tests against a real one.
 *
 * <ul>
 * <li>a CA, and a server certificate it signed for {@code 127.0.0.1} and {@code localhost};
 * <li>a client certificate it signed ({@code CN=pivot-pool-client}), for servers that require one
 * (etcd's {@code --client-cert-auth});
 * <li>another CA, which signed nothing of the server's, and a client certificate of that other CA:
 * trusting the one or presenting the other must not be enough.
 * </ul>
 *
 * <p>Every private key is unencrypted PKCS#8 ({@code -----BEGIN PRIVATE KEY-----}, converted with
 * {@code openssl pkcs8 -topk8 -nocrypt} whatever the {@code openssl} version's default), the only
 * form Netty reads without Bouncy Castle; {@link #clientKeyPkcs1()} is the client key in the
 * traditional PKCS#1 form, for tests of that mistake. {@link #close()} deletes the directory.
 *
 * <p>Without {@code openssl}, on CI ({@code CI=true}) {@link #create()} fails; elsewhere it skips the
 * test with a warning saying how to install it, as the server fixtures do.
 */
public record TestCertificates(Path directory, Path caCertificate, Path serverCertificate, Path serverKey,
        Path clientCertificate, Path clientKey, Path clientKeyPkcs1, Path otherCaCertificate,
        Path otherClientCertificate, Path otherClientKey) implements AutoCloseable {

    /** Makes the CAs, the server's and the clients' certificates in a new temporary directory. */
    public static TestCertificates create() {
        Path directory;
        try {
            directory = Files.createTempDirectory("pivot-pool-tls-");
        }
        catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
        try {
            return create(directory);
        }
        catch (RuntimeException | Error ex) {
            ServerProcesses.deleteDirectory(directory);
            throw ex;
        }
    }

    private static TestCertificates create(Path directory) {
        Path ca = directory.resolve("ca.crt");
        Path caKey = directory.resolve("ca.key");
        Path other = directory.resolve("other-ca.crt");
        Path otherKey = directory.resolve("other-ca.key");
        write(directory.resolve("server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                + "extendedKeyUsage=serverAuth\n");
        write(directory.resolve("client.ext"), "extendedKeyUsage=clientAuth\n");
        authority(directory, ca, caKey, "pivot-pool test CA");
        authority(directory, other, otherKey, "some other CA");
        signed(directory, "server", "localhost", ca, caKey, "server.ext");
        signed(directory, "client", "pivot-pool-client", ca, caKey, "client.ext");
        signed(directory, "other-client", "pivot-pool-client", other, otherKey, "client.ext");
        openssl(directory, "pkey", "-in", "client.key", "-traditional", "-out", "client-pkcs1.key");
        return new TestCertificates(directory, ca, directory.resolve("server.crt"), directory.resolve("server.key"),
                directory.resolve("client.crt"), directory.resolve("client.key"), directory.resolve("client-pkcs1.key"),
                other, directory.resolve("other-client.crt"), directory.resolve("other-client.key"));
    }

    private static void authority(Path directory, Path certificate, Path key, String name) {
        openssl(directory, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key.toString(), "-out",
                certificate.toString(), "-days", "1", "-subj", "/CN=" + name);
    }

    /** {@code NAME.crt} signed by the CA for {@code CN=commonName}, and {@code NAME.key} in PKCS#8. */
    private static void signed(Path directory, String name, String commonName, Path ca, Path caKey, String extensions) {
        openssl(directory, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".raw.key", "-out", name + ".csr",
                "-subj", "/CN=" + commonName);
        openssl(directory, "x509", "-req", "-in", name + ".csr", "-CA", ca.toString(), "-CAkey", caKey.toString(),
                "-CAcreateserial", "-out", name + ".crt", "-days", "1", "-extfile", extensions);
        openssl(directory, "pkcs8", "-topk8", "-nocrypt", "-in", name + ".raw.key", "-out", name + ".key");
    }

    private static void write(Path file, String text) {
        try {
            Files.writeString(file, text);
        }
        catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    private static void openssl(Path directory, String... args) {
        List<String> command = new ArrayList<>(List.of("openssl"));
        command.addAll(List.of(args));
        Process process;
        try {
            process = new ProcessBuilder(command).directory(directory.toFile()).redirectErrorStream(true).start();
        }
        catch (IOException ex) {
            throw ServerProcesses.unavailable("the TLS tests make their certificates with openssl, which did not run ("
                    + ex.getMessage() + "): install it (Debian/Ubuntu: apt-get install -y openssl; macOS has it)");
        }
        try {
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(30, TimeUnit.SECONDS) || process.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", command) + " failed: " + output);
            }
        }
        catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
            throw new IllegalStateException("interrupted while running " + String.join(" ", command), ex);
        }
    }

    /** Deletes the directory and every file in it. */
    @Override
    public void close() {
        ServerProcesses.deleteDirectory(this.directory);
    }
}
