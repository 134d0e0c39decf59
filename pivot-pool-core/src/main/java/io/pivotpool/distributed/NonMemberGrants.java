package io.pivotpool.distributed;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

import io.pivotpool.coordinator.CapacityView;
import io.pivotpool.coordinator.Coordinator;

/**
 * The leader's reaping of capacity grants whose holder is not a member of the cluster: a grant
 * that no running instance asked for (written by a tenant of a shared server, or by a process that
 * never registers) holds its objects until it expires, which the lifetime rule of
 * {@code Plausibility} allows to be up to four instance-ttls. The leader, which lists the members
 * every round, gives such a grant back once its holder has been absent for long enough that it
 * cannot be a member still trusting it, and only if the backend finds it unregistered in the same
 * atomic step as the release ({@link Coordinator#releaseCapacityOfNonMember}).
 *
 * <p><b>Why reaping never takes a grant its holder trusts.</b> With {@code T} the instance-ttl:
 * an instance asks for a grant only within {@code T/2} of a renewal of its registration (sent at
 * {@code h}, the request at {@code s ≤ h + T/2}; the manager and the default round renew once more
 * otherwise), the registration lives until {@code h + T} unless evicted, and the holder trusts the
 * grant for less than {@code T} after {@code s}, so until before {@code h + 1.5 T}. This leader
 * follows a holder from the first listing {@code f} at which it found it holding a grant while not
 * listed; any later listing that shows it forgets it; its listings are never more than
 * {@code T − sync-interval/2} apart (a longer gap, or a new term, forgets everything); and it
 * reaps at {@code r > f + 1.5 T + sync-interval}. Take the holder's last renewal {@code h} before
 * {@code r}:
 * <ul>
 * <li>{@code h + T > r}: the registration still lives at {@code r}; the backend's check finds it
 * and keeps the grant.</li>
 * <li>{@code h ≥ f} and {@code h + T ≤ r}: a listing fell within {@code [h, h + T)}, showed the
 * holder and forgot it; so {@code f > h}, a contradiction.</li>
 * <li>{@code h < f}: the listing at {@code f} did not show the holder, so its registration had
 * ended: {@code h + T ≤ f}; its trust ended before {@code h + 1.5 T ≤ f + T/2 < r}.</li>
 * </ul>
 * One sync-interval of the delay is margin for the clocks' rates and the leader's own round. What
 * this does not cover: a registration evicted (Redis under a {@code maxmemory-policy} that evicts,
 * which the coordinator warns about) while its holder trusts a grant, as eviction of the grant
 * itself is not covered either. Proven against the real manager by the simulation, whose mutant
 * reaping at once breaks the cap.
 *
 * <p>The grants of one pool are read per leader round (the pools in turn), so that the leader's
 * round grows by one read of one pool's grants, not of all of them. Only the synchronising thread
 * uses an instance.
 */
final class NonMemberGrants {

    /** How many absent holders are followed at most; beyond it, new ones wait for a place. */
    static final int MAX_FOLLOWED = 10_000;

    /** A grant given back: its pool, holder, objects, and for how long the holder had been absent. */
    record Reaped(String pool, String holder, int granted, long absentNanos) {
    }

    private final Coordinator coordinator;

    private long reapAfterNanos;

    private final long longestGapNanos;

    private final long syncNanos;

    /** By holder: when this leader first found it holding a grant while not a member, and when last. */
    private final Map<String, long[]> absent = new HashMap<>();

    private long term;

    private boolean listed;

    private long lastListingNanos;

    private int nextPool;

    NonMemberGrants(Coordinator coordinator, DistributedSettings settings) {
        this.coordinator = coordinator;
        long ttl = settings.instanceTtl().toNanos();
        this.syncNanos = settings.syncInterval().toNanos();
        this.reapAfterNanos = ttl + ttl / 2 + this.syncNanos;
        this.longestGapNanos = ttl - this.syncNanos / 2;
    }

    /**
     * One leader round of term {@code term}, whose listing found {@code members} (this instance
     * included) at {@code now}: forgets the holders that are members, reads the grants of the next
     * pool of {@code pools}, and gives back those whose holder has been absent for longer than
     * 1.5 instance-ttl + sync-interval and is still no member when the backend checks. Returns
     * what it gave back.
     */
    List<Reaped> leaderRound(long term, Set<String> members, List<String> pools, long now) {
        if (!this.listed || term != this.term || now - this.lastListingNanos > this.longestGapNanos) {
            this.absent.clear();
            this.term = term;
        }
        this.listed = true;
        this.lastListingNanos = now;
        this.absent.keySet().removeAll(members);
        if (pools.isEmpty()) {
            return List.of();
        }
        String pool = pools.get(Math.floorMod(this.nextPool++, pools.size()));
        CapacityView view = this.coordinator.capacity(pool);
        List<Reaped> reaped = new ArrayList<>();
        // In holder order: a view's map iterates in an order that changes from one JVM to the next,
        // and the simulation must replay a seed call for call.
        for (Map.Entry<String, Integer> grant : new TreeMap<>(view.grants()).entrySet()) {
            String holder = grant.getKey();
            if (members.contains(holder)) {
                continue;
            }
            long[] seen = this.absent.get(holder);
            if (seen == null) {
                if (this.absent.size() >= MAX_FOLLOWED) {
                    continue;
                }
                seen = new long[] { now, now };
                this.absent.put(holder, seen);
            }
            seen[1] = now;
            // Released only if the holder is still no member when the backend checks: one that
            // registered since this round's listing may have asked for a grant it trusts.
            if (now - seen[0] > this.reapAfterNanos && this.coordinator.releaseCapacityOfNonMember(pool, holder)) {
                reaped.add(new Reaped(pool, holder, grant.getValue(), now - seen[0]));
            }
        }
        // A holder found in no pool's grants for a whole turn of the pools (and a margin) is
        // forgotten: followed holders stay few even when strangers come and go.
        long forgetAfter = this.reapAfterNanos + 2L * pools.size() * this.syncNanos;
        for (Iterator<long[]> it = this.absent.values().iterator(); it.hasNext();) {
            if (now - it.next()[1] > forgetAfter) {
                it.remove();
            }
        }
        return reaped;
    }

    /** For the simulation's mutant: gives back grants whose holder has been absent for longer than {@code nanos}. */
    void reapAfter(long nanos) {
        this.reapAfterNanos = nanos;
    }

    /** This instance does not lead (any more): every absence starts again at its next term. */
    void notLeading() {
        this.listed = false;
        this.absent.clear();
    }
}
