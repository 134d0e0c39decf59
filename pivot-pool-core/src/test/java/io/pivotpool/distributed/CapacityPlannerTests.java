package io.pivotpool.distributed;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import io.pivotpool.distributed.CapacityPlanner.Member;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class CapacityPlannerTests {

    @Test
    void everyInstanceGetsAMinimumShareAndTheBusyOneTheRest() {
        Map<String, Integer> targets = CapacityPlanner.targets(30,
                List.of(new Member("a", 50, 40), new Member("b", 0, 40), new Member("c", 0, 40)));
        assertThat(targets).containsEntry("a", 28).containsEntry("b", 1).containsEntry("c", 1);
    }

    @Test
    void demandBeyondTheCapIsSharedInProportion() {
        Map<String, Integer> targets = CapacityPlanner.targets(10,
                List.of(new Member("a", 30, 20), new Member("b", 10, 20)));
        // minimum shares 1 + 1; then 8 shared in proportion to what each asked beyond its share
        // within its max-size, 19 : 9, giving 5.43 and 2.57: floors 5 and 2, the odd one to b
        assertThat(targets).containsEntry("a", 6).containsEntry("b", 4);
    }

    @Test
    void theOddObjectsGoToTheLargestRemaindersAndTiesToTheEarlierInstance() {
        // minimum shares 1 each, 2 left for a need of 9 + 9 + 9: floors 0, equal remainders, so
        // the two odd objects go to the first two in precedence (equal demand: by id)
        assertThat(CapacityPlanner.targets(5, List.of(new Member("c", 10, 10), new Member("a", 10, 10),
                new Member("b", 10, 10)))).containsExactly(Map.entry("a", 2), Map.entry("b", 2), Map.entry("c", 1));
        // 4 left for needs 9, 5, 2 (of 16): floors 2, 1, 0, remainders 4, 4, 8: the odd one to the 8
        assertThat(CapacityPlanner.targets(7, List.of(new Member("a", 10, 10), new Member("b", 6, 10),
                new Member("c", 3, 10)))).containsExactly(Map.entry("a", 3), Map.entry("b", 2), Map.entry("c", 2));
    }

    @Test
    void spareCapacityIsSpreadEvenlyWithinEachInstancesMaxSize() {
        Map<String, Integer> targets = CapacityPlanner.targets(20,
                List.of(new Member("a", 2, 4), new Member("b", 0, 20), new Member("c", 0, 20)));
        assertThat(targets).containsEntry("a", 4).containsEntry("b", 8).containsEntry("c", 8);
    }

    @Test
    void aCapSmallerThanTheClusterGoesToTheBusiestInstances() {
        Map<String, Integer> targets = CapacityPlanner.targets(2,
                List.of(new Member("a", 0, 5), new Member("b", 3, 5), new Member("c", 1, 5)));
        assertThat(targets).containsEntry("a", 0).containsEntry("b", 1).containsEntry("c", 1);
    }

    @Test
    void targetsNeverSumAboveTheCapNorExceedAnInstancesMaxSizeAndDoNotDependOnOrder() {
        SplittableRandom random = new SplittableRandom(7);
        for (int round = 0; round < 10_000; round++) {
            int cap = 1 + random.nextInt(200);
            List<Member> members = new ArrayList<>();
            int n = 1 + random.nextInt(40);
            for (int i = 0; i < n; i++) {
                members.add(new Member("i" + i, random.nextInt(100), random.nextInt(60)));
            }
            Map<String, Integer> targets = CapacityPlanner.targets(cap, members);
            assertThat(targets.values().stream().mapToInt(Integer::intValue).sum()).isLessThanOrEqualTo(cap);
            for (Member member : members) {
                assertThat(targets.get(member.instanceId())).isBetween(0, member.localMaxSize());
            }
            List<Member> reversed = new ArrayList<>(members);
            java.util.Collections.reverse(reversed);
            assertThat(CapacityPlanner.targets(cap, reversed)).isEqualTo(targets);
            int usable = members.stream().mapToInt(Member::localMaxSize).sum();
            assertThat(targets.values().stream().mapToInt(Integer::intValue).sum())
                .as("capacity left unassigned although some instance could use it")
                .isEqualTo(Math.min(cap, usable));
        }
    }
}
