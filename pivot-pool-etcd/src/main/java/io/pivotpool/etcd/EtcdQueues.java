package io.pivotpool.etcd;

import java.time.Duration;
import java.util.Arrays;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.WatchOption;
import io.pivotpool.coordinator.support.CoordinatorArguments;

import static io.pivotpool.etcd.EtcdRecords.MESSAGE_TAG;
import static io.pivotpool.etcd.EtcdRecords.tagged;

/**
 * The queues of an {@link EtcdCoordinator}, as Redis's {@code BlockingPops} are the Redis
 * coordinator's: a message is a key of its own under the queue's prefix, ordered by its create
 * revision; a pop deletes the oldest one still unchanged in a transaction, so that of several
 * consumers exactly one gets each message; and a pop that waits watches the prefix for puts, and
 * looks again every {@link #POP_RECHECK_NANOS} at the latest, in case a watch event is lost.
 */
final class EtcdQueues {

    /** Queue entries read per pop attempt; the consumer takes the first it wins. */
    private static final int POP_BATCH = 16;

    /** How long a blocking pop waits for a watch event before it looks at the queue again anyway. */
    private static final long POP_RECHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(500);

    private final Set<Semaphore> waitingPops = ConcurrentHashMap.newKeySet();

    private final KV kv;

    private final Watch watch;

    private final EtcdKeys keys;

    private final EtcdConnection connection;

    EtcdQueues(EtcdConnection connection) {
        this.connection = connection;
        this.kv = connection.kv();
        this.watch = connection.watch();
        this.keys = connection.keys();
    }

    /** Wakes every waiting pop, which then finds the coordinator closed and returns empty. */
    void wakeWaiting() {
        this.waitingPops.forEach(waiter -> waiter.release(Integer.MAX_VALUE / 2));
    }

    void push(String queue, byte[] message) {
        Objects.requireNonNull(queue, "queue must not be null");
        Objects.requireNonNull(message, "message must not be null");
        // A random name; the order is the create revision, which etcd assigns in commit order.
        String key = this.keys.queue(queue) + UUID.randomUUID().toString().replace("-", "");
        this.connection.call("push to queue '" + queue + "'").await(this.kv.put(EtcdKeys.bytes(key), tagged(MESSAGE_TAG, message)));
    }

    Optional<byte[]> pop(String queue) {
        Objects.requireNonNull(queue, "queue must not be null");
        return popOnce(this.connection.call("pop from queue '" + queue + "'"), queue).message();
    }

    Optional<byte[]> pop(String queue, Duration timeout) {
        Objects.requireNonNull(queue, "queue must not be null");
        CoordinatorArguments.requireWaitTimeout(timeout);
        String operation = "pop from queue '" + queue + "' with a wait";
        Popped popped = popOnce(this.connection.call(operation), queue);
        if (popped.message().isPresent() || timeout.isZero()) {
            return popped.message();
        }
        long deadline = System.nanoTime() + CoordinatorArguments.saturatedNanos(timeout);
        Semaphore pushed = new Semaphore(0);
        this.waitingPops.add(pushed);
        Watch.Watcher watcher = null;
        try {
            if (this.connection.isClosed()) {
                return Optional.empty();
            }
            // Every put under the queue after the revision read wakes this pop; a lost watch costs at most a recheck.
            watcher = this.watch.watch(EtcdKeys.bytes(this.keys.queue(queue)),
                    WatchOption.builder().isPrefix(true).withNoDelete(true).withRevision(popped.revision() + 1).build(),
                    Watch.listener(response -> pushed.release(), failure -> pushed.release()));
            while (true) {
                long remaining = deadline - System.nanoTime();
                if (remaining <= 0) {
                    return Optional.empty();
                }
                pushed.tryAcquire(Math.min(remaining, POP_RECHECK_NANOS), TimeUnit.NANOSECONDS);
                pushed.drainPermits();
                if (this.connection.isClosed()) {
                    return Optional.empty();
                }
                popped = popOnce(this.connection.call(operation), queue);
                if (popped.message().isPresent()) {
                    return popped.message();
                }
            }
        }
        catch (InterruptedException ex) {
            // Nothing was taken, so nothing is lost: give up the wait and keep the flag.
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
        finally {
            this.waitingPops.remove(pushed);
            if (watcher != null) {
                watcher.close();
            }
        }
    }

    private record Popped(Optional<byte[]> message, long revision) {
    }

    /**
     * Takes the oldest message: reads the first few by create revision and deletes the first one
     * still unchanged in a transaction, so that of several consumers exactly one gets each message.
     */
    private Popped popOnce(EtcdCall call, String queue) {
        ByteSequence prefix = EtcdKeys.bytes(this.keys.queue(queue));
        GetOption oldestFirst = GetOption.builder()
            .isPrefix(true)
            .withSortField(GetOption.SortTarget.CREATE)
            .withSortOrder(GetOption.SortOrder.ASCEND)
            .withLimit(POP_BATCH)
            .build();
        while (call.hasTimeLeft()) {
            GetResponse oldest = call.await(this.kv.get(prefix, oldestFirst));
            if (oldest.getKvs().isEmpty()) {
                return new Popped(Optional.empty(), oldest.getHeader().getRevision());
            }
            for (KeyValue entry : oldest.getKvs()) {
                byte[] value = entry.getValue().getBytes();
                if (value.length == 0 || value[0] != MESSAGE_TAG) {
                    this.connection.dropIfUnchanged(call, entry, "a value that is not a queued message");
                    continue;
                }
                TxnResponse taken = call.await(this.kv.txn()
                    .If(new Cmp(entry.getKey(), Cmp.Op.EQUAL, CmpTarget.modRevision(entry.getModRevision())))
                    .Then(Op.delete(entry.getKey(), DeleteOption.DEFAULT))
                    .commit());
                if (taken.isSucceeded()) {
                    return new Popped(Optional.of(Arrays.copyOfRange(value, 1, value.length)), 0);
                }
            }
        }
        throw call.timedOut();
    }
}
