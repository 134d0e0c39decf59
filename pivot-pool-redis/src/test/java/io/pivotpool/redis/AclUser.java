package io.pivotpool.redis;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;

import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.output.StatusOutput;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;

/**
 * The ACL user the README recommends, made on a real server from the README's own text, so that
 * the list of commands there is the one the tests prove sufficient: the rules of its
 * {@code ACL SETUSER pivot ...} block, applied verbatim (with a fresh password), plus one key
 * pattern {@code ~{namespace}:*} per namespace the test uses.
 */
final class AclUser {

    static final String NAME = "pivot";

    final String password = "acl-" + UUID.randomUUID();

    private final RawRedis admin;

    private final List<String> rules;

    /** Creates (or resets) the user with the README's rules, minus {@code without} (e.g. {@code +time}). */
    AclUser(RawRedis admin, String... without) {
        this.admin = admin;
        List<String> rules = new ArrayList<>(readmeRules());
        for (String rule : without) {
            if (!rules.remove(rule)) {
                throw new IllegalArgumentException(rule + " is not in the README's ACL rules " + rules);
            }
        }
        this.rules = List.copyOf(rules);
        List<String> args = new ArrayList<>(List.of("reset"));
        for (String rule : this.rules) {
            args.add(rule.equals(">PASSWORD") ? ">" + this.password : rule);
        }
        setuser(args);
    }

    /** Lets the user at {@code namespace}'s keys, and at nothing else more. */
    void allow(String namespace) {
        setuser(List.of("~{" + namespace + "}:*"));
    }

    List<String> rules() {
        return this.rules;
    }

    /** The tokens of the README's {@code ACL SETUSER pivot} block after the user name. */
    static List<String> readmeRules() {
        String readme;
        try {
            readme = Files.readString(Path.of("README.md"));
        }
        catch (IOException ex) {
            throw new UncheckedIOException("The tests run in pivot-pool-redis, next to its README.md", ex);
        }
        int start = readme.indexOf("ACL SETUSER " + NAME + " ");
        if (start < 0) {
            throw new IllegalStateException("README.md has no 'ACL SETUSER " + NAME + " ...' block");
        }
        int end = readme.indexOf("```", start);
        String block = readme.substring(start + ("ACL SETUSER " + NAME + " ").length(), end);
        return Arrays.stream(block.trim().split("\\s+")).toList();
    }

    private void setuser(List<String> args) {
        CommandArgs<String, String> command = new CommandArgs<>(StringCodec.UTF8).add("SETUSER").add(NAME);
        args.forEach(command::add);
        this.admin.commands().dispatch(CommandType.ACL, new StatusOutput<>(StringCodec.UTF8), command);
    }
}
