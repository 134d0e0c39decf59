package io.pivotpool.redis;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A throw-away certificate authority and a server certificate it signed for {@code 127.0.0.1} and
 * {@code localhost}, made with {@code openssl} in a directory of the test's: what a private CA of a
 * Redis deployment looks like, valid for one day.
 */
record TestCertificates(Path caCertificate, Path serverCertificate, Path serverKey, Path otherCaCertificate) {

    static TestCertificates create(Path directory) {
        Path ca = directory.resolve("ca.crt");
        Path caKey = directory.resolve("ca.key");
        Path server = directory.resolve("server.crt");
        Path serverKey = directory.resolve("server.key");
        Path request = directory.resolve("server.csr");
        Path extensions = directory.resolve("server.ext");
        Path other = directory.resolve("other-ca.crt");
        try {
            Files.writeString(extensions, "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
        }
        catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
        openssl(directory, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", caKey.toString(), "-out",
                ca.toString(), "-days", "1", "-subj", "/CN=pivot-pool test CA");
        openssl(directory, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", serverKey.toString(), "-out",
                request.toString(), "-subj", "/CN=localhost");
        openssl(directory, "x509", "-req", "-in", request.toString(), "-CA", ca.toString(), "-CAkey", caKey.toString(),
                "-CAcreateserial", "-out", server.toString(), "-days", "1", "-extfile", extensions.toString());
        // Another CA, which signed nothing of the server's: trusting it must not be enough.
        openssl(directory, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                directory.resolve("other-ca.key").toString(), "-out", other.toString(), "-days", "1", "-subj",
                "/CN=some other CA");
        return new TestCertificates(ca, server, serverKey, other);
    }

    private static void openssl(Path directory, String... args) {
        List<String> command = new java.util.ArrayList<>(List.of("openssl"));
        command.addAll(List.of(args));
        try {
            Process process = new ProcessBuilder(command).directory(directory.toFile()).redirectErrorStream(true).start();
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(30, TimeUnit.SECONDS) || process.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", command) + " failed: " + output);
            }
        }
        catch (IOException ex) {
            throw io.pivotpool.testsupport.ServerProcesses.unavailable("the TLS tests make their CA with openssl, "
                    + "which did not run (" + ex.getMessage() + "): install it (Debian: apt-get install -y openssl)");
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(ex);
        }
    }
}
