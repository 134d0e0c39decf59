package io.pivotpool.etcd;

import java.util.UUID;

import io.etcd.jetcd.Auth;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.auth.Permission;
import io.etcd.jetcd.options.OptionsUtil;
import io.pivotpool.testsupport.etcd.EtcdServer;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import static io.pivotpool.etcd.RawEtcd.await;
import static io.pivotpool.etcd.RawEtcd.bytes;

/**
 * A test class's own etcd with authentication switched on, as an operator would: a {@code root}
 * user with the {@code root} role, then {@code auth enable}; application users each with a role of
 * their own name, which reaches only the key prefixes a test grants it
 * ({@code etcdctl role grant-permission NAME readwrite --prefix=true 'NS/'}, the README's advice).
 * Passwords are random per run, so that a test can look for them in messages and logs. Register it
 * as a static field with {@code @RegisterExtension}; {@link #user()} is an application user
 * {@code pivot} made at the start.
 */
final class EtcdAuth implements BeforeAllCallback, AfterAllCallback {

    /** An etcd user and its password. */
    record User(String name, String password) {
    }

    private EtcdServer server;

    private Client root;

    private User user;

    /** Starts the server, adds root, enables authentication (from then on every client must log in), adds {@code pivot}. */
    @Override
    public void beforeAll(ExtensionContext context) {
        this.server = EtcdServer.start();
        String rootPassword = "root-" + UUID.randomUUID();
        try (Client anonymous = Client.builder().endpoints(this.server.endpoints().toArray(String[]::new)).build()) {
            Auth auth = anonymous.getAuthClient();
            await(auth.userAdd(bytes("root"), bytes(rootPassword)));
            await(auth.roleAdd(bytes("root")));
            await(auth.userGrantRole(bytes("root"), bytes("root")));
            await(auth.authEnable());
        }
        this.root = Client.builder()
            .endpoints(this.server.endpoints().toArray(String[]::new))
            .user(bytes("root"))
            .password(bytes(rootPassword))
            .build();
        this.user = user("pivot");
    }

    @Override
    public void afterAll(ExtensionContext context) {
        if (this.root != null) {
            this.root.close();
        }
        if (this.server != null) {
            this.server.close();
        }
    }

    EtcdServer server() {
        return this.server;
    }

    /** The application user {@code pivot}, whose role reaches only what {@link #allow} granted. */
    User user() {
        return this.user;
    }

    /** A new user with a random password and a role of its own name that reaches no key yet. */
    User user(String name) {
        User user = new User(name, "pw-" + UUID.randomUUID());
        Auth auth = this.root.getAuthClient();
        await(auth.userAdd(bytes(name), bytes(user.password())));
        await(auth.roleAdd(bytes(name)));
        await(auth.userGrantRole(bytes(name), bytes(name)));
        return user;
    }

    /** Lets the user read and write every key of the namespace, and nothing else. */
    void allow(User user, String namespace) {
        allow(user, namespace, Permission.Type.READWRITE);
    }

    void allow(User user, String namespace, Permission.Type permission) {
        ByteSequence prefix = bytes(new EtcdKeys(namespace).all());
        await(this.root.getAuthClient()
            .roleGrantPermission(bytes(user.name()), prefix, OptionsUtil.prefixEndOf(prefix), permission));
    }

    /** A client logged in as root, to prepare what a test needs behind the coordinator's back. */
    Client root() {
        return this.root;
    }

    /** Settings of a coordinator that logs in as the user. */
    EtcdCoordinatorSettings.Builder settings(User user, String namespace) {
        return EtcdCoordinatorSettings.builder()
            .endpoints(this.server.endpoints())
            .username(user.name())
            .password(user.password())
            .namespace(namespace)
            .timeout(java.time.Duration.ofSeconds(2));
    }

}
