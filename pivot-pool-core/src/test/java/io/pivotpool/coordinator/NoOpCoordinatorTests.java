package io.pivotpool.coordinator;

/**
 * The no-op coordinator keeps the single-instance contract. It holds its data in its own memory,
 * so two of them share nothing: it does not extend {@link MultiInstanceCoordinatorContract}.
 */
class NoOpCoordinatorTests extends CoordinatorContract {

    @Override
    protected Coordinator createCoordinator(String namespace) {
        return new NoOpCoordinator();
    }
}
