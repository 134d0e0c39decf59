package io.pivotpool.distributed;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The leader's arithmetic: how a pool's cluster-wide cap is shared among the live instances. A
 * pure function of its inputs, so that every leader computes the same targets from the same
 * reports and the rules can be tested without a cluster.
 *
 * <p>The rules, in order (the second and third are often called "borrow" and "contribute"):
 * <ol>
 * <li>A minimum share: every live instance gets one object, so that a newcomer can serve at once
 * (when the cap is smaller than the membership, the instances with the most demand get one each).
 * <li>Demand: what is left goes to the instances that asked for more than their minimum share, all
 * of it when it suffices, else in proportion to what each asked for beyond its share (largest
 * remainders get the odd objects).
 * <li>Spare capacity: anything still left is spread evenly, so that an idle cluster can absorb a
 * burst without waiting for the next round.
 * </ol>
 * No instance is ever given more than its own local max-size, and the targets never sum above the
 * cap. Ties are broken by demand, then by id, so the result does not depend on the input order.
 */
final class CapacityPlanner {

    private CapacityPlanner() {
    }

    /**
     * One live instance as the leader sees it.
     *
     * @param instanceId the instance
     * @param demand objects it used or waited for at its recent peak (0 when it has not reported)
     * @param localMaxSize the most it can hold (its pool's configured max-size)
     */
    record Member(String instanceId, int demand, int localMaxSize) {
    }

    /** The targets by instance id, in the members' order of precedence; they sum to at most {@code cap}. */
    static Map<String, Integer> targets(int cap, List<Member> members) {
        List<Member> ordered = new ArrayList<>(members);
        ordered.sort(Comparator.comparingInt(Member::demand).reversed().thenComparing(Member::instanceId));
        int n = ordered.size();
        int[] target = new int[n];
        long left = Math.max(0, cap);
        for (int i = 0; i < n && left > 0; i++) {
            if (ordered.get(i).localMaxSize() > 0) {
                target[i] = 1;
                left--;
            }
        }
        long[] need = new long[n];
        long totalNeed = 0;
        for (int i = 0; i < n; i++) {
            Member member = ordered.get(i);
            need[i] = Math.max(0, (long) Math.min(member.demand(), member.localMaxSize()) - target[i]);
            totalNeed += need[i];
        }
        if (totalNeed <= left) {
            for (int i = 0; i < n; i++) {
                target[i] += (int) need[i];
            }
            left -= totalNeed;
        }
        else if (left > 0) {
            left = shareInProportion(target, need, totalNeed, left);
        }
        left = spreadEvenly(ordered, target, left);
        Map<String, Integer> result = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            result.put(ordered.get(i).instanceId(), target[i]);
        }
        return result;
    }

    /** Hamilton's method: floors first, then one more each to the largest remainders. */
    private static long shareInProportion(int[] target, long[] need, long totalNeed, long left) {
        int n = target.length;
        long[] remainder = new long[n];
        long given = 0;
        for (int i = 0; i < n; i++) {
            long share = need[i] * left / totalNeed;
            remainder[i] = need[i] * left % totalNeed;
            target[i] += (int) share;
            given += share;
        }
        long odd = left - given;
        if (odd > 0) {
            // The largest remainders first, ties to the earlier member: sorted once (n log n), not
            // searched once per odd object, which at a thousand members was most of a leader's round.
            List<Integer> byRemainder = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                if (remainder[i] > 0) {
                    byRemainder.add(i);
                }
            }
            byRemainder.sort(Comparator.comparingLong((Integer i) -> remainder[i]).reversed()
                .thenComparingInt(i -> i));
            for (int i = 0; i < byRemainder.size() && odd > 0; i++) {
                target[byRemainder.get(i)]++;
                odd--;
            }
        }
        return odd;
    }

    private static long spreadEvenly(List<Member> ordered, int[] target, long left) {
        boolean gave = true;
        while (left > 0 && gave) {
            gave = false;
            for (int i = 0; i < target.length && left > 0; i++) {
                if (target[i] < ordered.get(i).localMaxSize()) {
                    target[i]++;
                    left--;
                    gave = true;
                }
            }
        }
        return left;
    }
}
